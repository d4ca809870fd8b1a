"""Engines and the session factory whose context manager is one unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from api.db.prepared import Prepared

# Every connection works in UTC whatever the server's or database's configured zone: SQL
# such as `current_date` (a topic manager's current assignment, which feeds to follow) must
# mean the UTC date, as periods and dates in the contract do.
SERVER_SETTINGS = {"timezone": "UTC"}


def async_url(url: str) -> str:
    """The asyncpg form of a PostgreSQL URL (``postgres://`` and ``postgresql://`` accepted)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def masked_url(url: str) -> str:
    """A URL fit to show (settings, logs): its password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """``asyncpg.connect`` keyword arguments for a URL, for work that needs a raw connection.

    libpq-style URLs may name a unix-socket folder (and port) in the query, as
    ``postgresql://user@/db?host=/socket/dir``; asyncpg's own DSN parser does not read those.
    The connection is pinned to UTC like the engines' (``SERVER_SETTINGS``).
    """
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    query = dict(parsed.query)
    port = parsed.port or query.get("port")
    return {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.host or query.get("host"),
        "port": int(port) if isinstance(port, str | int) else None,
        "database": parsed.database or "postgres",
        "server_settings": dict(SERVER_SETTINGS),
    }


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # JIT makes the small, frequent queries of a GraphQL API slower, never faster.
        connect_args={
            "server_settings": {
                **SERVER_SETTINGS,
                "jit": "off",
                "application_name": "campaign-graph",
            }
        },
    )


# One SQLAlchemy listener per callback, so that adding it twice is seen as the same one.
_listeners: dict[Callable[[], None], Callable[..., None]] = {}


@dataclass(frozen=True)
class Database:
    """The engines and session factories a process uses; read traffic may go to a replica."""

    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, read_url: str | None = None, *, pool_size: int = 10) -> Database:
        engine = create_engine(url, pool_size=pool_size)
        read_engine = create_engine(read_url, pool_size=pool_size) if read_url else engine
        return cls(
            engine=engine,
            read_engine=read_engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False),
            read_sessions=async_sessionmaker(read_engine, expire_on_commit=False),
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commits when the block succeeds, rolls back when it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session, for one loader batch or one resolver."""
        async with self.read_sessions() as session:
            yield session

    @asynccontextmanager
    async def bookkeeping(self, *, primary: bool = True) -> AsyncIterator[AsyncSession]:
        """A short session for one statement outside a request's reads (a budget draw, a
        credential look-up): a unit of work on the primary, or a read session. A request's
        ``RequestSession`` (api/db/request_session.py) runs these on its own connection."""
        context = self.unit_of_work() if primary else self.reading()
        async with context as session:
            yield session

    async def bookkeeping_row(
        self, statement: Prepared, args: Sequence[Any], *, primary: bool = True
    ) -> tuple[Any, ...] | None:
        """One prepared bookkeeping statement (``api/db/prepared.py``) in a ``bookkeeping``
        session; its first row (None: no row)."""
        async with self.bookkeeping(primary=primary) as session:
            connection = await session.connection()
            row = (await connection.exec_driver_sql(statement.sql, tuple(args))).first()
        return tuple(row) if row is not None else None

    def single_read(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A short read session (``RequestSession.single_read`` saves its BEGIN/ROLLBACK)."""
        return self.reading()

    @asynccontextmanager
    async def primary_reading(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session on the primary, whatever ``read_url`` says: for reads
        that must see what was just committed (a change a NOTIFY announced), which a
        replica may not hold yet."""
        async with self.sessions() as session:
            yield session

    def on_primary(self) -> Database:
        """This database with its reads on the primary too (``reading()`` included), for work
        whose every read must follow a commit it was told of: live subscriptions. It shares
        the engines, so disposing of it is the original's business."""
        if self.read_engine is self.engine:
            return self
        return replace(self, read_engine=self.engine, read_sessions=self.sessions)

    def on_statement(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` before every statement either engine sends (/metrics counts them
        per request). Adding the same callback again changes nothing."""
        listener = _listeners.setdefault(callback, lambda *args: callback())
        engines = {id(e.sync_engine): e.sync_engine for e in (self.engine, self.read_engine)}
        for engine in engines.values():
            if not event.contains(engine, "before_cursor_execute", listener):
                event.listen(engine, "before_cursor_execute", listener)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
