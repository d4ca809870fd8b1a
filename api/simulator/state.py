"""What the app holds: the network, the config, the log, the limiter and the fault dice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from api.simulator.activity import LiveActivity
from api.simulator.config import SimulatorConfig
from api.simulator.faults import Faults
from api.simulator.log import RequestLog
from api.simulator.network import Network
from api.simulator.ratelimit import SlidingWindowLimiter


@dataclass
class SimulatorState:
    network: Network
    config: SimulatorConfig
    log: RequestLog = field(default_factory=RequestLog)
    clock: Callable[[], float] = time.monotonic
    limiter: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter)
    faults: Faults = field(init=False)
    activity: LiveActivity = field(init=False)

    def __post_init__(self) -> None:
        self.faults = Faults(self.config)
        self.activity = LiveActivity(self.network, seed=self.config.seed)

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
