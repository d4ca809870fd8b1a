"""The demo's history as a script: every message, like, deletion and follower change with the
moment it happens, applied to a ``Network`` as a clock reaches it.

Plain data (tuples of ints, strings and datetimes), so a half-played script is saved with the
network and resumes where it stopped.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.simulator.network import Network

# (moment, sequence, kind, arguments); the sequence keeps the order events were written in.
Event = tuple[datetime, int, str, tuple[Any, ...]]


@dataclass
class DemoScript:
    events: list[Event] = field(default_factory=list)
    played: int = 0  # events[:played] have happened
    ids: dict[str, int] = field(default_factory=dict)  # message key -> message id

    def message(
        self,
        at: datetime,
        key: str,
        sender_id: int,
        body: str,
        *,
        group_id: int | None = None,
        parent: str | None = None,
    ) -> None:
        self._add(at, "message", (key, sender_id, body, group_id, parent))

    def likes(self, at: datetime, key: str, n: int) -> None:
        self._add(at, "like", (key, n))

    def delete(self, at: datetime, key: str) -> None:
        self._add(at, "delete", (key,))

    def followers(self, at: datetime, user_id: int, n: int) -> None:
        self._add(at, "followers", (user_id, n))

    def _add(self, at: datetime, kind: str, args: tuple[Any, ...]) -> None:
        insort(self.events, (at, len(self.events), kind, args), key=lambda e: (e[0], e[1]))

    @property
    def finished(self) -> bool:
        return self.played >= len(self.events)

    def next_moment(self) -> datetime | None:
        return None if self.finished else self.events[self.played][0]

    def advance(self, network: Network, now: datetime) -> int:
        """Apply every event due by ``now``; how many were applied."""
        applied = 0
        with network.lock:
            while not self.finished and self.events[self.played][0] <= now:
                moment, _, kind, args = self.events[self.played]
                self._apply(network, moment, kind, args)
                self.played += 1
                applied += 1
        return applied

    def _apply(self, network: Network, at: datetime, kind: str, args: tuple[Any, ...]) -> None:
        if kind == "message":
            key, sender_id, body, group_id, parent = args
            replied_to = self.ids[parent] if parent is not None else None
            # Never before a live addition already made: ids grow with creation order.
            message = network.add_message(
                sender_id,
                body,
                group_id=group_id,
                replied_to_id=replied_to,
                at=max(at, network.latest),
            )
            self.ids[key] = message.id
        elif kind == "like":
            key, n = args
            network.like(self.ids[key], n)
        elif kind == "delete":
            (key,) = args
            network.delete(self.ids[key], at=at)
        elif kind == "followers":
            user_id, n = args
            network.set_followers(user_id, n)
        else:  # pragma: no cover - the script only writes the kinds above
            raise ValueError(f"unknown event {kind!r}")
