"""Serving the simulator: ``run`` in the foreground (``campaign simulator``), or
``BackgroundServer`` in a thread on loopback (tests, ``campaign up``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from api.simulator.app import create_simulator
from api.simulator.config import DEFAULT_ADMIN_TOKEN, DEFAULT_TOKEN, SimulatorConfig
from api.simulator.replay import Replay

DEFAULT_PORT = 8900


def demo_app(
    *,
    anchor: date | None = None,
    tokens: Iterable[str] = (DEFAULT_TOKEN,),
    admin_token: str | None = DEFAULT_ADMIN_TOKEN,
    live_activity_seconds: float | None = 30.0,
    pace: float = 1.0,
    store: Path | None = None,
    from_start: bool = True,
    rate_limits: tuple[int, float] | None = None,
) -> Starlette:
    """The demo network behind the simulator app, played by a campaign clock at ``pace`` from
    the campaign's first Monday (``from_start``) or the present, and saved in ``store`` (a
    saved demo is resumed; see ``replay``).  ``rate_limits``: (requests, window seconds) for
    the messages and other buckets, instead of the microblog's documented ones."""
    config = SimulatorConfig(
        tokens=set(tokens), admin_token=admin_token, live_activity_seconds=live_activity_seconds
    )
    if rate_limits is not None:
        config.rate_limits.update(messages=rate_limits, other=rate_limits)
    replay = Replay.start(anchor, pace=pace, store=store, from_start=from_start)
    return create_simulator(replay.network, config, replay=replay)


def run(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    log_level: str = "info",
    **demo: Any,
) -> None:
    """Serve the demo network (``demo_app(**demo)``) until interrupted."""
    # The app sets the Date header itself (the campaign clock's): uvicorn's would repeat it.
    uvicorn.run(demo_app(**demo), host=host, port=port, log_level=log_level, date_header=False)


class BackgroundServer:
    """uvicorn in a daemon thread::

        with BackgroundServer(create_simulator(network, config)) as server:
            client = httpx.AsyncClient(base_url=server.url)

    ``port=0`` picks a free port; ``url`` is e.g. ``http://127.0.0.1:53211``.
    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        # Hanging requests must not hold up a test's teardown for long.
        # The app sets the Date header itself (the campaign clock's): uvicorn's would repeat it.
        # log_config=None: uvicorn leaves logging alone; its lines go to the root logger as the
        # host process configured it (`campaign up` keeps per-request lines for --verbose).
        config = uvicorn.Config(
            app, log_config=None, timeout_graceful_shutdown=1, date_header=False
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
