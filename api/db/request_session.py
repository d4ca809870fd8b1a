"""One GraphQL request's database work: one pooled connection, at most one read transaction.

Before this, every DataLoader batch opened a session of its own: a request for a topic's feed
checked a connection out of the pool seven times and wrapped each SELECT in BEGIN/ROLLBACK,
plus a write transaction for its budget. A ``RequestSession`` is handed to the GraphQL
context instead; it checks a connection out when first used and gives it back when the request
ends (``close``), so a request costs one checkout and its statements, whatever its shape:

* **Bookkeeping first, in autocommit** (``bookkeeping_row``): the API key look-up, the data
  version and the budget draw each run as a single statement that commits on its own, before
  any read transaction: one round trip each and no BEGIN/COMMIT. They are sent as asyncpg
  prepared statements on the request's connection (``api/db/prepared.py``), not through an
  ``AsyncSession``, whose Python cost was several times the statement's. The budget draw
  is one atomic upsert (``api/db/repositories/query_budgets.py``), as safe in autocommit as in
  a transaction of its own, and its row lock is released the moment it returns. Bookkeeping
  that must reach the primary while reads go to a replica gets a short unit of work there.
* **The data version rides along** (``folds_version``, ``data_version``): without a replica,
  the first bookkeeping statement of a request on the primary (the key's check, else the budget
  draw) also reads the data version, so the response cache and ETags need no statement of
  their own. Reading it earlier than before is safe: the reads begin later, so the answer still
  holds data at least as new as its version.
* **A request whose one read is one statement** (a compiled plan, ``single_read``) sends it in
  autocommit: one statement sees one snapshot by itself, so BEGIN and ROLLBACK would be two
  round trips for nothing.
* **Otherwise the reads, in one read-only REPEATABLE READ transaction** (``reading``), begun
  lazily with the first SELECT. Autocommit reads would save the BEGIN and the ROLLBACK, but
  each statement would then see a different moment: a page of posts and its ``totalCount``,
  or a post and its author, could disagree when a worker commits between them. One snapshot
  makes a request's answer describe one state of the data, for two round trips. READ ONLY
  refuses a write that slipped into a read path; REPEATABLE READ (not SERIALIZABLE) also runs
  on a hot-standby replica.

An ``AsyncSession`` (and the asyncpg connection under it) runs one statement at a time, while
DataLoader batches of different loaders dispatch in the same loop tick: a lock serialises them
(they were each waiting for a pooled connection before, so little concurrency is lost).

A failed statement aborts a PostgreSQL transaction; the session is then dropped and the next
read starts afresh, so one field's error never turns the request's other fields into errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from api.db.prepared import Prepared
from api.db.session import Database

log = logging.getLogger(__name__)

_SNAPSHOT = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT", "postgresql_readonly": False}


class Reads(Protocol):
    """Where a request's reads go: a ``RequestSession``, or the ``Database`` itself (a short
    session per use: subscriptions, which must not hold a connection for their lifetime)."""

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def bookkeeping(self, *, primary: bool = True) -> AbstractAsyncContextManager[AsyncSession]: ...

    def single_read(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    async def bookkeeping_row(
        self, statement: Prepared, args: Sequence[Any], *, primary: bool = True
    ) -> tuple[Any, ...] | None: ...


class RequestSession:
    """One request's connection: bookkeeping in autocommit, then one read snapshot."""

    def __init__(self, db: Database, *, version_wanted: bool = True) -> None:
        self.db = db
        # Whether this request may need the data version (the response cache is on, or a GET
        # gets an ETag): only then does its first bookkeeping statement read it.
        self.version_wanted = version_wanted
        self._lock = asyncio.Lock()
        # The pooled connection, once checked out: bare while only the driver has been used
        # (``bookkeeping_row``, ``value_alone``), wrapped in ``_connection`` once a session
        # needs it (``_connect``); giving it back goes through the wrapper when there is one.
        self._raw: PoolProxiedConnection | None = None
        self._connection: AsyncConnection | None = None
        # The read snapshot's session, once a read has begun it.
        self._snapshot: AsyncSession | None = None
        # After ``close``: whatever still reads (nothing should) gets short sessions.
        self._closed = False
        # The data version, once a bookkeeping statement read it beside its own work.
        self.data_version: int | None = None
        # The execution options last set on the connection (value_alone skips setting them
        # again).
        self._mode: dict[str, object] | None = None

    @property
    def _shares_primary(self) -> bool:
        return self.db.read_engine is self.db.engine

    def folds_version(self) -> bool:
        """Whether the next bookkeeping statement on the primary should read the data version
        too: not known yet, and the primary is where the reads go (a replica's version must
        come from the replica, which may be behind)."""
        return (
            self.version_wanted
            and self.data_version is None
            and self._shares_primary
            and not self._closed
        )

    async def _checkout(self) -> PoolProxiedConnection:
        """The request's pooled connection, checked out of the read engine's pool if need be.

        A bare pool checkout (``AsyncEngine.raw_connection``): the driver-only paths need no
        ``Connection``/``AsyncConnection`` around it, whose creation and closing (events,
        execution options, a second greenlet hop) cost more Python than the statement's own
        round trip. Same pool, same checkout/checkin events, same reset on return.
        """
        if self._raw is None:
            self._raw = await self.db.read_engine.raw_connection()
        return self._raw

    async def _connect(self) -> AsyncConnection:
        """The request's connection as an ``AsyncConnection``, for sessions: the pooled
        connection already checked out, wrapped (no second checkout), else a new one."""
        if self._connection is None:
            raw = await self._checkout()
            engine = self.db.read_engine
            # ``Connection(engine, connection=...)`` adopts a checked-out pool connection;
            # closing it checks that connection in, as ``engine.connect()``'s would.
            self._connection = AsyncConnection(engine, Connection(engine.sync_engine, raw))
        return self._connection

    async def _driver(self) -> asyncpg.Connection:
        """The asyncpg connection of the request (checked out if need be), outside any
        transaction: under the ``AsyncConnection`` once there is one (which may have
        reconnected since), else the bare pooled connection's."""
        if self._connection is not None:
            raw = await self._connection.get_raw_connection()
        else:
            raw = await self._checkout()
        driver = raw.driver_connection
        if driver is None or driver.is_in_transaction():
            # Not expected (nothing but the snapshot begins one); never commit a transaction
            # of SQLAlchemy's from here.
            raise RuntimeError("the request's connection is in a transaction")
        return driver

    def _announce(self, sql: str, params: Sequence[Any]) -> None:
        """Announce a driver statement as SQLAlchemy announces its own, so that what counts
        them (/metrics, benchmarks, tests) sees these too: through the ``Connection`` when
        there is one, else the engine's listeners (with no connection object to hand them)."""
        sync = self._connection.sync_connection if self._connection is not None else None
        if sync is not None:
            sync.dispatch.before_cursor_execute(sync, None, sql, tuple(params), None, False)
        else:
            engine = self.db.read_engine.sync_engine
            if engine._has_events:
                engine.dispatch.before_cursor_execute(None, None, sql, tuple(params), None, False)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The request's read snapshot (one read-only transaction on the read engine)."""
        if self._closed:
            async with self.db.reading() as session:
                yield session
            return
        async with self._lock:
            try:
                if self._snapshot is None:
                    connection = await self._connect()
                    await connection.execution_options(**_SNAPSHOT)
                    self._mode = _SNAPSHOT
                    # The session begins the transaction (sending BEGIN with the first
                    # statement) and rolls it back when closed: reads have nothing to commit.
                    self._snapshot = AsyncSession(bind=connection, expire_on_commit=False)
                yield self._snapshot
            except BaseException:
                await self._discard()
                raise

    @asynccontextmanager
    async def bookkeeping(self, *, primary: bool = True) -> AsyncIterator[AsyncSession]:
        """A session for one statement that commits on its own, outside the read snapshot.

        On this request's connection in autocommit when that connection reaches the database
        wanted (the primary when ``primary``); a replica's request gets a short unit of work on
        the primary. Meant for work before the reads begin; should a snapshot be open already,
        it is ended first (the reads that follow begin another).
        """
        if self._closed or (primary and not self._shares_primary):
            async with self.db.bookkeeping(primary=primary) as session:
                yield session
            return
        async with self._lock:
            try:
                await self._end_snapshot()
                connection = await self._connect()
                if self._mode is not _AUTOCOMMIT:
                    await connection.execution_options(**_AUTOCOMMIT)
                    self._mode = _AUTOCOMMIT
                async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                    yield session
                    # Ends the session's logical transaction; autocommit sends nothing.
                    await session.commit()
            except BaseException:
                await self._discard()
                raise

    async def bookkeeping_row(
        self, statement: Prepared, args: Sequence[Any], *, primary: bool = True
    ) -> tuple[Any, ...] | None:
        """One bookkeeping statement, committed on its own; its first row (None: no row).

        As ``bookkeeping`` decides where, but on this request's connection it goes to asyncpg
        directly: outside a transaction (the snapshot, if one was open, is ended first) each
        statement commits on its own, and asyncpg's statement cache prepares it once per
        connection. Errors come as SQLAlchemy's ``DBAPIError``, as the session path raises.
        """
        if self._closed or (primary and not self._shares_primary):
            return await self.db.bookkeeping_row(statement, args, primary=primary)
        async with self._lock:
            try:
                await self._end_snapshot()
                driver = await self._driver()
                self._announce(statement.sql, args)
                record = await driver.fetchrow(statement.sql, *args)
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                await self._discard(exc)
                raise DBAPIError(statement.sql, tuple(args), exc) from exc
            except BaseException as exc:
                await self._discard(exc)
                raise
        return tuple(record) if record is not None else None

    @asynccontextmanager
    async def single_read(self) -> AsyncIterator[AsyncSession]:
        """A session for a request's only read statement: in the snapshot if one is open, else
        in autocommit (one statement sees one snapshot by itself: no BEGIN, no ROLLBACK)."""
        if self._closed:
            async with self.db.reading() as session:
                yield session
            return
        async with self._lock:
            try:
                if self._snapshot is not None:
                    yield self._snapshot
                    return
                connection = await self._connect()
                if self._mode is not _AUTOCOMMIT:  # set already by bookkeeping, as a rule
                    await connection.execution_options(**_AUTOCOMMIT)
                    self._mode = _AUTOCOMMIT
                async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                    yield session
            except BaseException:
                await self._discard()
                raise

    async def value_alone(self, sql: str, params: Sequence[Any]) -> Any:
        """The one value of one statement, run alone in autocommit on the read side, through
        the driver (asyncpg's own prepared statement cache; no ORM, no BEGIN/ROLLBACK).

        For a read that is a single statement (a compiled plan, api/db/compiled, on the HTTP
        fast path): a statement sees one snapshot by itself, so the transaction ``reading``
        opens would add two round trips and guarantee nothing more. Listeners of
        ``before_cursor_execute`` (/metrics, tests) still see the statement.
        """
        if self._closed:
            raise RuntimeError("the request's session is closed")
        async with self._lock:
            try:
                await self._end_snapshot()
                driver = await self._driver()
                self._announce(sql, params)
                return await driver.fetchval(sql, *params)
            except BaseException as exc:
                await self._discard(exc)
                raise

    async def release(self) -> None:
        """End the snapshot and give the connection back; a later use checks out another.

        A mutation calls this before its own transaction: the request never holds two
        connections of one pool (requests each holding one and waiting for a second could
        exhaust it), and the reads of the mutation's payload begin after its commit.
        """
        async with self._lock:
            self.data_version = None  # a write may follow: read the version again after it
            await self._discard()

    async def close(self) -> None:
        """The request is over: give the connection back for good."""
        self._closed = True
        await self.release()

    async def _end_snapshot(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:
            await snapshot.close()  # ROLLBACK, if a statement began the transaction

    async def _discard(self, driver_error: BaseException | None = None) -> None:
        """Drop the snapshot and the connection; never raises (a broken connection is the
        pool's to discard, and the error that broke it is the one worth reporting).

        ``driver_error``: what a statement sent to asyncpg directly raised; unless it is the
        server refusing that statement alone, the connection is not trusted again.
        """
        connection, self._connection = self._connection, None
        raw, self._raw = self._raw, None
        self._mode = None
        try:
            await self._end_snapshot()
        except Exception as exc:
            log.warning("could not end a request's read transaction: %s", exc)
        try:
            if connection is not None:
                sync = connection.sync_connection
                if (
                    sync is not None
                    and not sync.invalidated
                    and (_broken(sync.connection) or not _harmless(driver_error))
                ):
                    await connection.invalidate()  # discarded by the pool, never reused
                await connection.close()  # checks the pooled connection in (or what is left)
            elif raw is not None:
                if _broken(raw) or not _harmless(driver_error):
                    # Broken: discarded (the pool connects anew in its place), never reused.
                    await greenlet_spawn(raw.invalidate)
                else:
                    # Checked in with the pool's reset on return, as a Connection's close is.
                    await greenlet_spawn(raw.close)
        except Exception as exc:
            log.warning("could not return a request's connection to the pool: %s", exc)


def _broken(pooled: PoolProxiedConnection) -> bool:
    """Whether a pooled connection's driver connection is gone (the server ended it, or the
    driver closed it after an error): such a connection must not go back to the pool, where
    the next request would get it (SQLAlchemy notices a disconnect only in its own execution,
    not in statements sent to asyncpg directly)."""
    driver = pooled.driver_connection
    return driver is None or bool(driver.is_closed())


def _harmless(error: BaseException | None) -> bool:
    """Whether a connection that saw ``error`` from a driver statement may be reused: no error,
    or the server refusing the statement alone (not a connection exception, class 08, nor an
    operator intervention ending the session, 57P). Anything else (the connection lost, the
    statement cancelled half way) may leave it unusable, so it is dropped."""
    if error is None:
        return True
    if not isinstance(error, asyncpg.PostgresError):
        return False
    state = str(getattr(error, "sqlstate", "") or "")
    return not (state.startswith("08") or state.startswith("57P"))
