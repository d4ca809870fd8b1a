"""Test databases on a real PostgreSQL: DATABASE_URL when set, else an embedded server.

A template database is migrated once per run; tests clone it (CREATE DATABASE .. TEMPLATE),
which takes milliseconds and gives each test its own database, as loaders and the app open
several connections at once.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from api.db.session import asyncpg_connect_args

T = TypeVar("T")


def in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own loop, off pytest-asyncio's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def with_database(url: str, name: str) -> str:
    return (
        make_url(url.replace("postgres://", "postgresql://", 1))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


async def admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(**asyncpg_connect_args(with_database(url, "postgres")))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class TestServer:
    """The server tests run against; creates and drops uniquely named databases."""

    def __init__(self, tmp: Path) -> None:
        self.embedded = None
        url = os.environ.get("DATABASE_URL")
        if not url:
            from api.db.server import EmbeddedPostgres

            self.embedded = EmbeddedPostgres(tmp / "embedded-pg")
            url = self.embedded.start()
        self.url = url
        self.prefix = f"cg_test_{os.getpid()}_"

    def new_name(self) -> str:
        return self.prefix + uuid.uuid4().hex[:10]

    def create(self, template: str | None = None) -> str:
        name = self.new_name()
        clause = f' TEMPLATE "{template}"' if template else ""
        in_thread(admin(self.url, f'CREATE DATABASE "{name}"{clause}'))
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        in_thread(admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
