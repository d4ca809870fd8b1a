"""Serving the simulator: ``run`` in the foreground (``campaign simulator``), or
``BackgroundServer`` in a thread on loopback (tests, ``campaign up``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from datetime import date
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from api.simulator.app import create_simulator
from api.simulator.config import DEFAULT_ADMIN_TOKEN, DEFAULT_TOKEN, SimulatorConfig
from api.simulator.demo import default_anchor
from api.simulator.network import Network

DEFAULT_PORT = 8900


def demo_app(
    *,
    anchor: date | None = None,
    tokens: Iterable[str] = (DEFAULT_TOKEN,),
    admin_token: str | None = DEFAULT_ADMIN_TOKEN,
    live_activity_seconds: float | None = 30.0,
) -> Starlette:
    """The demo network (anchored like the database seed) behind the simulator app."""
    config = SimulatorConfig(
        tokens=set(tokens), admin_token=admin_token, live_activity_seconds=live_activity_seconds
    )
    return create_simulator(Network.demo(anchor or default_anchor()), config)


def run(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    anchor: date | None = None,
    tokens: Iterable[str] = (DEFAULT_TOKEN,),
    admin_token: str | None = DEFAULT_ADMIN_TOKEN,
    live_activity_seconds: float | None = 30.0,
    log_level: str = "info",
) -> None:
    """Serve the demo network until interrupted."""
    app = demo_app(
        anchor=anchor,
        tokens=tokens,
        admin_token=admin_token,
        live_activity_seconds=live_activity_seconds,
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)


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
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
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
