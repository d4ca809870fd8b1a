"""The credentials of open WebSockets (api/live/credentials.py): a token's socket is closed
when it expires, a key's once the key is revoked, with one statement per check for every
socket of the process, and none while no socket uses a key."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from api.auth import create_api_key, revoke_api_key, verify_api_key
from api.db.session import Database
from api.domain.enums import Role
from api.domain.principal import Principal
from api.live.credentials import FORBIDDEN, CredentialWatch

BOUND = 30.0  # seconds: a bound for a busy machine, not a speed claim


class Socket:
    """What the watch uses of a Starlette WebSocket: its state and close."""

    def __init__(self) -> None:
        self.state = SimpleNamespace()
        self.closes: list[tuple[int, str]] = []

    async def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))


async def until(found: Any, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not found():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_revoked_keys_sockets_are_closed_in_one_check(fresh_db: Database) -> None:
    revoked_key = await create_api_key(fresh_db, "revoked", Role.LMS)
    kept_key = await create_api_key(fresh_db, "kept", Role.LMS)
    revoked = await verify_api_key(fresh_db, revoked_key)
    kept = await verify_api_key(fresh_db, kept_key)
    statements: list[int] = []
    watch = CredentialWatch(fresh_db, check_every=0.05)
    sockets = {"revoked 1": Socket(), "revoked 2": Socket(), "kept": Socket()}
    try:
        watch.watch(sockets["revoked 1"], revoked)
        watch.watch(sockets["revoked 2"], revoked)
        watch.watch(sockets["kept"], kept)
        fresh_db.on_statement(lambda: statements.append(1))
        await revoke_api_key(fresh_db, "revoked")
        await until(lambda: sockets["revoked 1"].closes and sockets["revoked 2"].closes, "closes")
        for name in ("revoked 1", "revoked 2"):
            assert sockets[name].closes == [(FORBIDDEN, "Forbidden: the API key has been revoked.")]
        assert sockets["kept"].closes == []
        assert watch.watched_keys == 1
        # Checks go on for the kept key, one statement each, whatever the number of sockets.
        before = len(statements)
        await until(lambda: len(statements) >= before + 3, "three more checks")
        assert sockets["kept"].closes == []
        # Its socket gone, no key is checked: the checks stop.
        watch.forget(sockets["kept"])
        assert watch.watched_keys == 0
        await until(lambda: not watch.checking, "the checks to stop")
    finally:
        await watch.stop()


async def test_a_tokens_socket_is_closed_when_it_expires_and_not_before(
    fresh_db: Database,
) -> None:
    watch = CredentialWatch(fresh_db, check_every=0.05)
    expiring, lasting, gone = Socket(), Socket(), Socket()
    now = time.time()
    try:
        watch.watch(expiring, Principal(Role.ADMIN, "a@example.com", expires_at=now + 0.5))
        watch.watch(lasting, Principal(Role.ADMIN, "b@example.com", expires_at=now + 3600))
        # A socket that ended before its token did: nothing is left to close.
        watch.watch(gone, Principal(Role.ADMIN, "c@example.com", expires_at=now + 0.5))
        watch.forget(gone)
        await until(lambda: expiring.closes, "the expired token's close")
        assert time.time() >= now + 0.45  # the loop's clock may round a little early
        assert expiring.closes == [(FORBIDDEN, "Forbidden: the token has expired.")]
        assert lasting.closes == []
        assert gone.closes == []
        assert not watch.checking  # tokens need no statement
    finally:
        await watch.stop()
