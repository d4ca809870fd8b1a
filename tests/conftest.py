"""Fixtures shared by every tier: the PostgreSQL server, migrated and demo databases."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from api.db.session import Database
from api.settings import get_settings
from tests.dbs import TestServer, in_thread

# The demo seed is anchored here so tests can name exact dates; week 1 starts Monday 2026-10-05.
DEMO_ANCHOR = date(2026, 10, 5)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tiers are folders; markers follow from the path.
    for item in items:
        for tier in ("unit", "integration", "e2e"):
            if f"/tests/{tier}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    # The CLI reads its settings once per process (get_settings is cached); a test that runs
    # it with its own environment must not see the one an earlier test ran it with.
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    # Not under pytest's basetemp: a second pytest run keeps only the newest three of those
    # and would delete a running session's embedded data folder, and PostgreSQL shuts down
    # when its lock file disappears.
    with tempfile.TemporaryDirectory(prefix="campaign-graph-tests-") as folder:
        server = TestServer(Path(folder))
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def migrated_template(pg_server: TestServer) -> Iterator[str]:
    """A database at the migration head, used as a template for fresh ones."""
    url = pg_server.create()
    in_thread_upgrade(url)
    yield make_url(url).database or ""
    pg_server.drop(url)


def in_thread_upgrade(url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from api.db import migrations

    # alembic's env.py runs its own event loop; keep it off pytest-asyncio's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrations.upgrade, url).result()


@pytest.fixture(scope="session")
def demo_template(pg_server: TestServer, migrated_template: str) -> Iterator[str]:
    """A migrated database holding the demo campaign (anchored at DEMO_ANCHOR)."""
    from api.seed.demo import seed_demo

    url = pg_server.create(template=migrated_template)
    in_thread(seed_demo(url, anchor=DEMO_ANCHOR))
    yield make_url(url).database or ""
    pg_server.drop(url)


@pytest.fixture
def fresh_url(pg_server: TestServer, migrated_template: str) -> Iterator[str]:
    """An empty, migrated database of this test's own."""
    url = pg_server.create(template=migrated_template)
    yield url
    pg_server.drop(url)


@pytest.fixture
def demo_url(pg_server: TestServer, demo_template: str) -> Iterator[str]:
    """A demo database of this test's own (for tests that write)."""
    url = pg_server.create(template=demo_template)
    yield url
    pg_server.drop(url)


@pytest.fixture(scope="session")
def shared_demo_url(pg_server: TestServer, demo_template: str) -> Iterator[str]:
    """One demo database for read-only tests."""
    url = pg_server.create(template=demo_template)
    yield url
    pg_server.drop(url)


async def _database(url: str) -> AsyncIterator[Database]:
    db = Database.connect(url, pool_size=5)
    yield db
    await db.dispose()


@pytest.fixture
async def fresh_db(fresh_url: str) -> AsyncIterator[Database]:
    async for db in _database(fresh_url):
        yield db


@pytest.fixture
async def demo_db(demo_url: str) -> AsyncIterator[Database]:
    async for db in _database(demo_url):
        yield db


ROOT = Path(__file__).resolve().parents[1]
