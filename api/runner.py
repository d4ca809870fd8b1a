"""``campaign up``: the API and the sync worker in one process, mirroring the bundled simulator
(or the real microblog when a token is configured)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from datetime import date, datetime

import uvicorn

from api.app import create_app
from api.db.repositories import seeding
from api.db.session import Database
from api.settings import Settings
from api.sync.runtime import build_client, build_worker

log = logging.getLogger(__name__)


def listen(host: str, port: int) -> socket.socket:
    """The API's socket, bound before anything else starts.

    Listening first means a port in use fails at once, the simulator's free port (chosen by the
    kernel) can never be the one the API was asked to serve on, and clients that connect during
    start-up wait in the backlog instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


async def _is_empty(db: Database) -> bool:
    async with db.reading() as session:
        return not await seeding.has_campaign(session)


class _Server(uvicorn.Server):
    """uvicorn, calling ``on_started`` once it accepts requests."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.on_started()


async def serve_with_worker(
    settings: Settings,
    url: str,
    *,
    sock: socket.socket,
    microblog_url: str,
    token: str,
    source: str,
    demo_anchor: date | None,
    clock: Callable[[], datetime] | None = None,
    on_started: Callable[[], None] = lambda: None,
) -> None:
    """Serve the API on ``sock`` (see `listen`) and run the worker until interrupted.

    With ``demo_anchor`` (the simulator), an empty database first mirrors the microblog's
    directory and then gets the demo campaign's set-up; its posts arrive through the worker.
    ``clock`` is the worker's (the simulator's campaign clock for the demo). ``on_started`` is
    called once the API answers, before the worker starts polling (`campaign up` prints its
    banner there, so it is the last thing printed at start).
    """
    from api.seed.demo import seed_demo_campaign

    host, port = sock.getsockname()[:2]
    db = Database.connect(url, pool_size=settings.db_pool_size)
    app_settings = settings.model_copy(update={"database_url": url, "host": host, "port": port})
    # log_config=None: the command's logging (api/logs.py) decides what uvicorn's lines show.
    config = uvicorn.Config(create_app(app_settings, db=db), host=host, port=port, log_config=None)
    try:
        async with build_client(settings, url=microblog_url, token=token, db=db) as client:
            worker = build_worker(settings, db, client, source=source, clock=clock)
            if demo_anchor is not None and await _is_empty(db):
                log.info("mirroring the simulator's directory, then setting up the demo campaign")
                await worker.run_exclusive(trigger="SETUP")
                await seed_demo_campaign(db, demo_anchor)
            tasks: list[asyncio.Task[None]] = []

            def started() -> None:
                on_started()
                tasks.append(asyncio.create_task(worker.run_forever()))

            try:
                await _Server(config, started).serve(sockets=[sock])
            finally:
                worker.stop.set()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    finally:
        await db.dispose()
