"""Fault decisions (which request fails, hangs, or gets a broken page) and page breaking."""

from __future__ import annotations

import json
import random
from typing import Any

from api.simulator.config import SimulatorConfig


class Faults:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._seed = config.seed
        self._rng = random.Random(config.seed)

    @property
    def rng(self) -> random.Random:
        # A new seed set at runtime restarts the sequence, so runs are repeatable per seed.
        if self.config.seed != self._seed:
            self._seed = self.config.seed
            self._rng = random.Random(self._seed)
        return self._rng

    def applies(self, api_path: str) -> bool:
        return api_path.startswith(self.config.fault_path_prefix)

    def _take(self, counter: str, rate: float) -> bool:
        remaining = getattr(self.config, counter)
        if remaining > 0:
            setattr(self.config, counter, remaining - 1)
            return True
        return rate > 0 and self.rng.random() < rate

    def storm(self) -> bool:
        return self._take("storm_next", 0.0)

    def error_status(self) -> int | None:
        if not self._take("error_next", self.config.error_rate):
            return None
        return self.rng.choice(self.config.error_statuses or (500,))

    def hang(self) -> bool:
        return self._take("hang_next", self.config.hang_rate)

    def malformed(self) -> str | None:
        if self._take("malformed_next", self.config.malformed_rate):
            return self.config.malformed_mode
        return None

    def omits_reply(self, message_id: int) -> bool:
        """Whether in_group leaves this reply out: stable per (seed, message), so re-paging the
        group never finds it and only in_thread does."""
        fraction = self.config.in_group_omit_replies
        return (
            fraction > 0 and random.Random(f"{self.config.seed}:{message_id}").random() < fraction
        )


def _first_record(payload: Any) -> dict[str, Any] | None:
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], dict) else None
    if isinstance(payload, dict):
        for key in ("messages", "users"):
            if isinstance(payload.get(key), list):
                return _first_record(payload[key])
        return payload if "id" in payload else None
    return None


def malform(payload: Any, mode: str) -> bytes:
    """Break a page the way a flaky proxy or a schema change would."""
    if mode == "html":  # a proxy's error page, answered with 200
        return b"<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>"
    record = _first_record(payload) if mode != "invalid_json" else None
    if record is not None and mode == "missing_id":
        record.pop("id", None)
    elif record is not None and mode == "wrong_types":
        record["id"] = f"id-{record.get('id')}"  # not a number
        if "created_at" in record:
            record["created_at"] = 1_684_262_554  # epoch seconds instead of Yammer's string
        if "liked_by" in record:
            record["liked_by"] = "many"
    else:
        # invalid_json, or nothing to break inside: cut the document in half.
        text = json.dumps(payload)
        return text[: max(len(text) // 2, 1)].encode()
    return json.dumps(payload, ensure_ascii=False).encode()
