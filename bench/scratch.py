"""A scratch database for a benchmark run: created migrated on $DATABASE_URL's server, dropped after."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from api.db import migrations
from tests.dbs import admin, with_database


def _admin(server: str, statement: str) -> None:
    # Off any running loop: alembic and the benchmarks start their own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, admin(server, statement)).result()


@contextmanager
def scratch_database() -> Iterator[str]:
    server = os.environ.get("DATABASE_URL") or sys.exit("Set DATABASE_URL to a PostgreSQL server.")
    name = f"cg_bench_{uuid.uuid4().hex[:8]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server, name)
        migrations.upgrade(url)
        yield url
    finally:
        _admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')
