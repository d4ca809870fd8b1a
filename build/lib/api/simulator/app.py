"""``create_simulator(network, config)``: the Starlette app serving the simulated microblog."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware

from api.simulator import api_admin, api_directory, api_messages, api_search
from api.simulator.activity import run_live_activity
from api.simulator.config import SimulatorConfig
from api.simulator.log import RequestLog
from api.simulator.middleware import SimulatorMiddleware
from api.simulator.network import Network
from api.simulator.replay import Replay
from api.simulator.state import SimulatorState


def create_simulator(
    network: Network,
    config: SimulatorConfig | None = None,
    *,
    log: RequestLog | None = None,
    clock: Callable[[], float] = time.monotonic,
    replay: Replay | None = None,
) -> Starlette:
    """The app; ``simulator_state(app)`` gives back the network, config and log it uses.

    ``clock`` (seconds, monotonic) drives the rate limiter and the log's ``at``; tests inject
    a fake one to move windows without sleeping.  ``replay`` (over the same network) plays the
    demo by its campaign clock and saves it; the ``Date`` header of every answer is that clock's.
    """
    state = SimulatorState(
        network, config or SimulatorConfig(), log or RequestLog(), clock, replay=replay
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Only servers that run the lifespan (uvicorn, LifespanManager) get live activity.
        task = asyncio.create_task(run_live_activity(state.activity, state.config, state.tick))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if state.replay is not None and state.replay.store is not None:
                state.replay.save(state.activity)  # the clock where it stopped

    app = Starlette(
        routes=[
            *api_messages.routes(),
            *api_directory.routes(),
            *api_search.routes(),
            *api_admin.routes(),
        ],
        middleware=[Middleware(SimulatorMiddleware, state=state)],
        lifespan=lifespan,
    )
    app.state.simulator = state
    return app


def simulator_state(app: Starlette) -> SimulatorState:
    state: SimulatorState = app.state.simulator
    return state
