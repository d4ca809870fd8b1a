"""The bench's network database: a scratch one per run, or one kept across runs (--keep).

Generating 300,000 posts takes minutes, longer than many a measurement; a kept database is
generated once and reused by every later run that asks for the same network.  Its name says
what it holds: ``cg_bench_keep_<posts>posts_<people>people_s<seed>_g<generator version>``, the
version a digest of the generator's and the demo's source, so changing either makes a new
name (and a new network) rather than a stale reuse.  A database is reused only when complete:
the marker (the database's comment, JSON) is written after the demo and the network are in,
so one cut short by an interrupt or a failure is dropped and generated again.  On reuse the
project's migrations are brought to head (and if the database's revision is unknown to this
checkout, the network is generated again); the peers' ``bench`` schema is refreshed by the
caller (bench.contract_setup.configure), always.  Nothing drops a kept database: the run says
its name, and ``DROP DATABASE`` is the way to free it.  Before a run the database is
vacuumed and analyzed (``settle``), kept or not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg

from api.db import migrations
from api.db.session import asyncpg_connect_args
from api.seed.demo import seed_demo
from api.seed.generator import generate
from bench.scratch import scratch_database
from tests.conftest import DEMO_ANCHOR
from tests.dbs import with_database

ROOT = Path(__file__).resolve().parents[1]
# What decides the rows the network holds (the write path's side tables follow migrations).
SOURCES = (ROOT / "api" / "seed" / "generator.py", ROOT / "api" / "seed" / "demo.py")
PREFIX = "cg_bench_keep_"
SEED = 1

KEEP_HELP = (
    "keep the network's database for later runs, and reuse it when it holds the same network"
    f" (named by posts, people, seed and the generator's version: {PREFIX}<posts>posts_"
    "<people>people_s1_g<version>; generated anew if incomplete; migrated to head and the"
    " peers' bench schema recreated on reuse); the bench never drops it"
)

Decision = Literal["create", "reuse", "recreate"]


def generator_version() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:8]


@dataclass(frozen=True)
class Spec:
    """The network a run asks for."""

    people: int
    posts: int
    seed: int = SEED
    generator: str = ""

    def name(self, prefix: str = PREFIX) -> str:
        return f"{prefix}{self.posts}posts_{self.people}people_s{self.seed}_g{self.generator}"

    def marker(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "posts": self.posts,
            "seed": self.seed,
            "generator": self.generator,
        }


def decide(spec: Spec, exists: bool, comment: str | None) -> Decision:
    """Reuse a database only when it exists and its marker says it holds the whole network."""
    if not exists:
        return "create"
    try:
        marker = json.loads(comment or "")
    except ValueError:
        return "recreate"
    if not isinstance(marker, dict) or not marker.get("complete"):
        return "recreate"
    return "reuse" if {k: marker.get(k) for k in spec.marker()} == spec.marker() else "recreate"


def _run(coro: Any) -> Any:
    # Off any running loop: alembic, the generator and the benchmarks start their own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _upgrade(url: str) -> None:
    with ThreadPoolExecutor(1) as pool:  # alembic's env.py runs its own loop too
        pool.submit(migrations.upgrade, url).result()


async def _fetch(server: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(**asyncpg_connect_args(with_database(server, "postgres")))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def _state(server: str, name: str) -> tuple[bool, str | None]:
    rows = _run(
        _fetch(
            server,
            "SELECT shobj_description(oid, 'pg_database') AS comment"
            " FROM pg_database WHERE datname = $1",
            name,
        )
    )
    return (bool(rows), rows[0]["comment"] if rows else None)


def kept_databases(server: str, prefix: str = PREFIX) -> list[str]:
    rows = _run(
        _fetch(
            server,
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
            prefix,
        )
    )
    return [r["datname"] for r in rows]


def _admin(server: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(**asyncpg_connect_args(with_database(server, "postgres")))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    _run(run())


def load_network(url: str, people: int, posts: int, seed: int = SEED) -> dict[str, int]:
    """The demo, then the generated network, into a migrated database."""
    _run(seed_demo(url, anchor=DEMO_ANCHOR))
    return _run(generate(url, people=people, posts=posts, seed=seed))  # type: ignore[no-any-return]


def _drop_peers_schema(url: str) -> None:
    # The peers' views depend on the project's tables: a migration altering one would fail.
    async def run() -> None:
        conn = await asyncpg.connect(**asyncpg_connect_args(url))
        try:
            await conn.execute("DROP SCHEMA IF EXISTS bench CASCADE")
        finally:
            await conn.close()

    _run(run())


def kept_network(
    server: str, spec: Spec, *, prefix: str = PREFIX
) -> tuple[str, dict[str, int], Decision]:
    """The kept database for ``spec`` (reused, or generated now): its URL, network, decision."""
    name = spec.name(prefix)
    url = with_database(server, name)
    decision = decide(spec, *_state(server, name))
    if decision == "reuse":
        _drop_peers_schema(url)
        try:
            _upgrade(url)
        except Exception as error:  # a revision this checkout does not know, a failed step
            print(f"{name}: migrations failed ({error}); generating again", file=sys.stderr)
            decision = "recreate"
        else:
            marker = json.loads(_state(server, name)[1] or "{}")
            return url, marker["network"], decision
    if decision == "recreate":
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(server, f'CREATE DATABASE "{name}"')
    _upgrade(url)
    print(f"generating {spec.people} people, {spec.posts} posts into {name}", file=sys.stderr)
    network = load_network(url, spec.people, spec.posts, spec.seed)
    marker = json.dumps({**spec.marker(), "network": network, "complete": True})
    _admin(server, f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    return url, network, decision


def settle(url: str) -> None:
    """VACUUM (ANALYZE) the database, as autovacuum would on a live server after a bulk load.

    A benchmark's server may run with autovacuum off (the shared one here does): then the
    maintained tables (rollups, counts) would keep no statistics and no visibility map, and
    every server, the peers too, would be measured on plans no live server runs."""

    async def run() -> None:
        conn = await asyncpg.connect(**asyncpg_connect_args(url))
        try:
            await conn.execute("VACUUM (ANALYZE)")  # asyncpg: outside a transaction block
        finally:
            await conn.close()

    _run(run())


@contextmanager
def network_database(
    people: int, posts: int, *, keep: bool
) -> Iterator[tuple[str, dict[str, int]]]:
    """A database holding the demo and the generated network: kept (reused when complete) or
    a scratch one dropped afterwards."""
    server = os.environ.get("DATABASE_URL") or sys.exit("Set DATABASE_URL to a PostgreSQL server.")
    if keep:
        spec = Spec(people, posts, generator=generator_version())
        url, network, decision = kept_network(server, spec)
        others = [n for n in kept_databases(server) if n != spec.name()]
        print(
            f"kept network database {spec.name()} ({decision})"
            + (f"; other kept bench databases: {', '.join(others)}" if others else ""),
            file=sys.stderr,
        )
        settle(url)
        yield url, network
        return
    with scratch_database() as url:
        print(f"generating {people} people, {posts} posts", file=sys.stderr)
        network = load_network(url, people, posts)
        settle(url)
        yield url, network
