"""Credentials that run out while a WebSocket stays open.

A WebSocket is authenticated once, in ``connection_init``, and a subscription may last far
longer than the token it was opened with. Nothing is checked per event; instead:

* a bearer token's end is scheduled when the connection is accepted (``loop.call_later``):
  at its ``exp`` (plus the identity provider's leeway, as ``api.auth`` accepts it) the socket
  is closed;
* an API key (the LMS role) does not expire but may be revoked: every ``check_every`` seconds
  (``CAMPAIGN_SUBSCRIPTION_KEY_CHECK_SECONDS``) one statement on the primary asks which of the
  keys this process's open sockets use are still unrevoked, whatever the number of sockets,
  and the sockets of the others are closed. No statement is sent while no socket uses a key.

The close code is 4403, "Forbidden": what graphql-transport-ws prescribes for a connection
whose ``connection_init`` is refused, and what the same credentials would now get. The
graphql-ws client treats it as an authorisation problem worth a retry (unlike 4401, which
the protocol keeps for "subscribed before the acknowledgement" and the client does not
retry): with ``retryAttempts`` and ``connectionParams`` given as a function, it reconnects
with a fresh token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from contextlib import suppress
from typing import Any

from api.db.repositories import api_keys
from api.db.session import Database
from api.domain.principal import Principal

log = logging.getLogger(__name__)

FORBIDDEN = 4403
EXPIRED = "Forbidden: the token has expired."
REVOKED = "Forbidden: the API key has been revoked."


class _Watched:
    """One socket's credentials being watched."""

    def __init__(self, socket: Any, principal: Principal) -> None:
        self.socket = socket
        self.principal = principal
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False


class CredentialWatch:
    def __init__(self, db: Database, *, check_every: float = 60.0) -> None:
        self.db = db
        self.check_every = check_every
        self._by_key: dict[int, set[_Watched]] = defaultdict(set)
        self._checker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def watched_keys(self) -> int:
        return len(self._by_key)

    @property
    def checking(self) -> bool:
        """Whether keys are being checked (only while a socket uses one)."""
        return self._checker is not None and not self._checker.done()

    def watch(self, socket: Any, principal: Principal) -> None:
        """Close ``socket`` with 4403 once ``principal``'s credentials no longer hold; undone
        by ``forget(socket)`` when the socket ends."""
        self.forget(socket)
        watched = _Watched(socket, principal)
        socket.state.credentials = watched
        loop = asyncio.get_running_loop()
        if principal.expires_at is not None:
            delay = max(principal.expires_at - time.time(), 0.0)
            watched.timer = loop.call_later(delay, self._close, watched, EXPIRED)
        if principal.api_key_id is not None:
            self._by_key[principal.api_key_id].add(watched)
            if self._checker is None or self._checker.done():
                self._checker = loop.create_task(self._check_keys(), name="check API keys")

    def forget(self, socket: Any) -> None:
        watched: _Watched | None = getattr(socket.state, "credentials", None)
        if watched is None:
            return
        socket.state.credentials = None
        if watched.timer is not None:
            watched.timer.cancel()
        key_id = watched.principal.api_key_id
        if key_id is not None:
            sockets = self._by_key.get(key_id)
            if sockets is not None:
                sockets.discard(watched)
                if not sockets:
                    del self._by_key[key_id]

    async def stop(self) -> None:
        tasks = [t for t in (self._checker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._checker = None

    async def _check_keys(self) -> None:
        # Ends once no socket uses a key; the next one to do so starts it again.
        while self._by_key:
            await asyncio.sleep(self.check_every)
            key_ids = set(self._by_key)
            if not key_ids:
                continue
            try:
                # The primary: a revocation holds from the moment it commits (api.auth).
                async with self.db.primary_reading() as session:
                    active = await api_keys.active_among(session, key_ids)
            except Exception:  # the database is away: the sockets stay; check again later
                log.warning("could not check the API keys of open WebSockets", exc_info=True)
                continue
            for key_id in key_ids - active:
                for watched in list(self._by_key.get(key_id, ())):
                    self._close(watched, REVOKED)

    def _close(self, watched: _Watched, reason: str) -> None:
        if watched.closed:
            return
        watched.closed = True
        self.forget(watched.socket)
        log.info("WebSocket closed (%d): %s", FORBIDDEN, reason)
        # Its own task: a timer callback cannot wait, and closing may.
        task = asyncio.get_running_loop().create_task(_close(watched.socket, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _close(socket: Any, reason: str) -> None:
    with suppress(Exception):  # already gone
        await socket.close(code=FORBIDDEN, reason=reason)
