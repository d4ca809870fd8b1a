"""One dedicated ``LISTEN`` connection per process, kept open: reconnects with backoff.

``NOTIFY`` reaches only sessions listening on the primary at the moment of the commit, so a
listener that lost its connection tells its owner when it is back (``on_connect``): the owner
then reads what it missed from the table the notifications point into.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress

import asyncpg

from api.db.session import asyncpg_connect_args

log = logging.getLogger(__name__)


class Listener:
    def __init__(
        self,
        url: str,
        channel: str,
        on_notify: Callable[[str], None],
        on_connect: Callable[[], Awaitable[None]],
        *,
        backoff: tuple[float, float] = (0.1, 10.0),
        check_every: float = 15.0,
    ) -> None:
        self.url = url
        self.channel = channel
        self.on_notify = on_notify
        self.on_connect = on_connect
        self.backoff = backoff
        # A connection that died without a FIN (a network cut) is noticed by a probe.
        self.check_every = check_every
        self.connected = asyncio.Event()
        self.connections = 0  # how many times it has connected (reconnections show here)
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen {self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def terminate_connection(self) -> None:
        """Close the connection as a network failure would (tests of the reconnection)."""
        if self._connection is not None:
            self._connection.terminate()

    async def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(**asyncpg_connect_args(self.url))
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning(
                    "LISTEN %s: cannot connect (%s); retrying in %.1f s", self.channel, exc, delay
                )
                await asyncio.sleep(delay * (0.5 + random.random()))  # jitter
                delay = min(delay * 2, self.backoff[1])
                continue
            self._connection = connection
            try:
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(self.channel, self._notified)
                self.connected.set()
                self.connections += 1
                delay = self.backoff[0]
                try:
                    await self.on_connect()
                except Exception:  # the owner's defect must not end the listening
                    log.exception("LISTEN %s: on_connect failed", self.channel)
                while not lost.is_set():
                    with suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self.check_every)
                    if not lost.is_set():
                        await connection.fetchval("SELECT 1", timeout=self.check_every)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("LISTEN %s: connection lost (%s)", self.channel, exc)
            finally:
                self.connected.clear()
                self._connection = None
                connection.terminate()
            log.info("LISTEN %s: reconnecting", self.channel)

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self.on_notify(payload)
