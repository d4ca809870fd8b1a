"""The simulator's knobs: tokens, rate limits and fault switches.

One ``SimulatorConfig`` is held by the app and read on every request, so a test can flip a
switch on the object (or ``POST /_sim/config``) while the worker runs.  Everything is off by
default except the microblog's documented rate limits.  The "next N" counters are consumed
(decremented) by the requests they hit, so they are exact and need no randomness; the rates use
a ``random.Random(seed)`` and are deterministic for a given seed and request order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_TOKEN = "simulator-token"
DEFAULT_ADMIN_TOKEN = "simulator-admin-token"
MALFORMED_MODES = ("invalid_json", "missing_id", "wrong_types", "html")

# bucket -> (requests, window seconds), or None for no limit; see reference §2.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, float] | None] = {
    "messages": (10, 30.0),
    "autocomplete": (10, 10.0),
    "other": (10, 30.0),
    "export": None,  # no documented per-call limit on the Data Export API
}
_NULLABLE: dict[str, type] = {
    "admin_token": str,
    "retry_after_seconds": int,
    "live_activity_seconds": float,
}


@dataclass
class SimulatorConfig:
    # Auth: any of these bearer tokens (and the admin token) act as the network's current user,
    # unless ``token_users`` maps a token to another user id.
    tokens: set[str] = field(default_factory=lambda: {DEFAULT_TOKEN})
    admin_token: str | None = DEFAULT_ADMIN_TOKEN
    token_users: dict[str, int] = field(default_factory=dict)

    # Rate limits: per-token sliding windows per bucket; lift them all with rate_limits_enabled.
    rate_limits_enabled: bool = True
    rate_limits: dict[str, tuple[int, float] | None] = field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS)
    )
    retry_after: bool = True  # send Retry-After on 429 (Microsoft does not document it)
    retry_after_seconds: int | None = None  # None: seconds until the window has room again

    # Faults.  They apply to /api/v1 paths starting with fault_path_prefix (after /api/v1).
    seed: int = 0
    fault_path_prefix: str = ""
    storm_next: int = 0  # the next N requests get 429, whatever the budget
    error_next: int = 0  # the next N requests get a 5xx
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    latency_seconds: float = 0.0  # added to every request
    hang_next: int = 0  # the next N requests hang for hang_seconds (past a client timeout)
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    malformed_next: int = 0
    malformed_rate: float = 0.0
    malformed_mode: str = "invalid_json"  # or "missing_id", "wrong_types", "html"
    older_available_lies: bool = False  # meta.older_available is false while more exist
    in_group_omit_replies: float = 0.0  # fraction of replies in_group leaves out (1.0: all)

    # Live activity: one random step (post, reply, likes, followers) every N seconds.
    live_activity_seconds: float | None = None

    def lift_rate_limits(self) -> None:
        self.rate_limits_enabled = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply JSON-ish changes (as ``POST /_sim/config`` sends them); ValueError if invalid."""
        names = {f.name for f in fields(self)}
        coerced = {}
        for name, value in changes.items():
            if name not in names:
                raise ValueError(f"unknown setting {name!r}")
            coerced[name] = self._coerce(name, value)
        for name, value in coerced.items():
            if name == "rate_limits":
                self.rate_limits.update(value)
            else:
                setattr(self, name, value)

    def _coerce(self, name: str, value: Any) -> Any:
        if name == "tokens":
            return {str(token) for token in value}
        if name == "token_users":
            return {str(token): int(user) for token, user in dict(value).items()}
        if name == "rate_limits":
            return {
                str(bucket): (int(limit[0]), float(limit[1])) if limit else None
                for bucket, limit in dict(value).items()
            }
        if name == "error_statuses":
            return tuple(int(status) for status in value)
        if name == "malformed_mode" and value not in MALFORMED_MODES:
            raise ValueError(f"malformed_mode must be one of {MALFORMED_MODES}")
        if name in _NULLABLE:
            return None if value is None else _NULLABLE[name](value)
        current = getattr(self, name)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            return value
        if isinstance(value, bool) or not isinstance(value, type(current) | int):
            raise ValueError(f"{name} must be a {type(current).__name__}")
        return type(current)(value)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens"] = sorted(self.tokens)
        data["error_statuses"] = list(self.error_statuses)
        data["rate_limits"] = {k: list(v) if v else None for k, v in self.rate_limits.items()}
        return data
