"""`python -m bench.contract --keep`: a tiny network generated once, then reused as it is
(not generated again), its migrations brought to head; a database cut short is generated
again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from api.db import migrations
from api.db.session import asyncpg_connect_args
from bench.kept_network import Spec, generator_version, kept_databases, kept_network
from tests import dbs
from tests.dbs import admin, in_thread, with_database

SPEC = Spec(people=5, posts=30, generator=generator_version())


@pytest.fixture
def prefix(pg_server: dbs.TestServer) -> Iterator[str]:
    prefix = pg_server.new_name() + "_"  # this test's databases only
    yield prefix
    for name in kept_databases(pg_server.url, prefix):
        pg_server.drop(with_database(pg_server.url, name))


async def _scalar(url: str, query: str) -> object:
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def _fact(url: str) -> tuple[object, object]:
    """The database's identity and its posts: a reuse keeps both, a generation does not."""
    oid = in_thread(_scalar(url, "SELECT oid FROM pg_database WHERE datname = current_database()"))
    return oid, in_thread(_scalar(url, "SELECT count(*) FROM post"))


def _revision(url: str) -> object:
    return in_thread(_scalar(url, "SELECT version_num FROM alembic_version"))


def _off_loop(fn: Callable[..., object], *args: object) -> None:
    with ThreadPoolExecutor(1) as pool:  # alembic's env.py runs its own loop
        pool.submit(fn, *args).result()


def test_a_kept_network_is_generated_once_then_reused(
    pg_server: dbs.TestServer, prefix: str
) -> None:
    url, network, decision = kept_network(pg_server.url, SPEC, prefix=prefix)
    assert decision == "create"
    assert network["posts"] == SPEC.posts
    first = _fact(url)
    assert isinstance(first[1], int)
    assert first[1] > SPEC.posts  # the demo's posts and the generated ones

    again, network_again, decision = kept_network(pg_server.url, SPEC, prefix=prefix)
    assert (again, network_again, decision) == (url, network, "reuse")
    assert _fact(url) == first  # the same database, not generated again
    assert kept_databases(pg_server.url, prefix) == [SPEC.name(prefix)]


def test_reuse_brings_the_migrations_to_head(pg_server: dbs.TestServer, prefix: str) -> None:
    url, _, _ = kept_network(pg_server.url, SPEC, prefix=prefix)
    _off_loop(migrations.downgrade, url, "-1")
    assert _revision(url) != migrations.head_revision()
    assert kept_network(pg_server.url, SPEC, prefix=prefix)[2] == "reuse"
    assert _revision(url) == migrations.head_revision()


def test_a_database_cut_short_is_generated_again(pg_server: dbs.TestServer, prefix: str) -> None:
    # As an interrupted run leaves it: the database, no marker.
    in_thread(admin(pg_server.url, f'CREATE DATABASE "{SPEC.name(prefix)}"'))
    _, network, decision = kept_network(pg_server.url, SPEC, prefix=prefix)
    assert (decision, network["posts"]) == ("recreate", SPEC.posts)
    assert kept_network(pg_server.url, SPEC, prefix=prefix)[2] == "reuse"
