"""What the app holds: the network, the config, the log, the limiter, the fault dice and,
for the demo, its replay (campaign clock, script, saved state)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.requests import Request

from api.simulator.activity import LiveActivity
from api.simulator.config import SimulatorConfig
from api.simulator.faults import Faults
from api.simulator.log import RequestLog
from api.simulator.network import Network
from api.simulator.ratelimit import SlidingWindowLimiter
from api.simulator.replay import Replay


@dataclass
class SimulatorState:
    network: Network
    config: SimulatorConfig
    log: RequestLog = field(default_factory=RequestLog)
    clock: Callable[[], float] = time.monotonic
    limiter: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter)
    replay: Replay | None = None  # the demo played by its campaign clock, and saved
    faults: Faults = field(init=False)
    activity: LiveActivity = field(init=False)

    def __post_init__(self) -> None:
        self.faults = Faults(self.config)
        self.activity = LiveActivity(self.network, seed=self.config.seed)
        if self.replay is not None and self.replay.activity_snapshot is not None:
            self.activity.restore(self.replay.activity_snapshot)

    def now(self) -> datetime:
        """The network's present: the campaign clock's under a replay, else real time."""
        return self.replay.clock.now() if self.replay is not None else datetime.now(UTC)

    def tick(self) -> None:
        """Bring the network up to the campaign clock (and save it); before every request."""
        if self.replay is not None:
            self.replay.tick(self.activity)

    def user_for(self, token: str | None) -> int | None:
        """The user a bearer token acts for, or None if the token is not valid."""
        config = self.config
        if not token:
            return None
        if token in config.token_users:
            return config.token_users[token]
        if token in config.tokens or token == config.admin_token:
            return self.network.current_user_id
        return None

    def reset(self) -> None:
        """Forget the request log and every rate-limit window."""
        self.log.clear()
        self.limiter.reset()


def sim(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state
