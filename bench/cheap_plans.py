"""The cheap operations' one statement: compiled plans against the raw peer's, in PostgreSQL.

    # the statements of this checkout's compiler and of the raw peer, with the bench's variables
    .venv/bin/python bench/cheap_plans.py dump --database-url URL --out /tmp/new.pickle
    # the same from another checkout (e.g. ``git archive <base> | tar -x -C /tmp/base`` and
    # this file copied there), then all of them interleaved
    .venv/bin/python bench/cheap_plans.py compare --database-url URL /tmp/base.pickle /tmp/new.pickle

``dump`` compiles PostDetail (member), People (admin) and ResourceLinks (LMS) as the contract
bench sends them (bench/contract_cases.py: a busy thread starter of the bench's topic, the
first 20 people over the last 90 days, the topic's resources), binds the variables and keeps
each statement with its parameters, beside the raw peer's (bench/peers/raw.py).

``compare`` prepares every statement (SQL ``PREPARE``, as asyncpg prepares: PostgreSQL plans
the first five executions for their values, then may keep a generic plan) on one connection,
runs them interleaved (A B C, A B C ...) ``--runs`` times after ``--warm`` executions each,
and prints the median CPU time the server process spent on each (read from its
/proc/PID/schedstat: the database must run on this machine) and its median wall time, which plan PostgreSQL settled on (generic or custom),
and, with ``--explain``, EXPLAIN (ANALYZE, BUFFERS) of each under a forced custom and a forced
generic plan.  The answers of every variant of an operation must be equal (the raw peer's
differ from the project's only where bench/contract_cases.py lets them: they are not compared).
Read-only: the session is READ ONLY.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.db.compiled import compiler  # noqa: E402
from api.db.session import asyncpg_connect_args  # noqa: E402
from api.domain.enums import Role  # noqa: E402
from bench.contract_setup import HASHTAG  # noqa: E402
from bench.peers import raw  # noqa: E402
from schema.schema import build_schema  # noqa: E402
from schema.types.node import decode_id, encode_id  # noqa: E402

OPS = ROOT / "tests" / "contract" / "operations"
BASE_URL = "http://bench"
CASES = {
    "PostDetail": ("mobile/PostDetail.graphql", Role.MEMBER),
    "People": ("admin/People.graphql", Role.ADMIN),
    "ResourceLinks": ("lms/ResourceLinks.graphql", Role.LMS),
}


async def _variables(conn: Any) -> dict[str, dict[str, Any]]:
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(1)
    since = until - timedelta(days=90)
    busy = await conn.fetchval(
        "SELECT id FROM post WHERE thread_starter_id IS NULL AND deleted_at IS NULL"
        " AND id IN (SELECT post_id FROM post_hashtag WHERE hashtag = $1)"
        " ORDER BY reply_count DESC, id DESC LIMIT 1",
        HASHTAG,
    )
    return {
        "PostDetail": {"id": encode_id("Post", busy)},
        "People": {"first": 20, "since": since.isoformat(), "until": until.isoformat()},
        "ResourceLinks": {"hashtag": HASHTAG},
    }


def _write(path: str, data: bytes) -> None:
    Path(path).write_bytes(data)


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


async def _connect(url: str) -> Any:
    """A connection as the API's and the raw peer's: UTC, no JIT (api/db/session.py)."""
    connect = asyncpg_connect_args(url)
    connect["server_settings"] = {**connect["server_settings"], "jit": "off"}
    return await asyncpg.connect(**connect)


async def dump(args: argparse.Namespace) -> None:
    conn = await _connect(args.database_url)
    try:
        variables = await _variables(conn)
    finally:
        await conn.close()
    graphql_schema = build_schema()._schema
    found: dict[str, dict[str, tuple[str, list[Any]]]] = {}
    for label, (path, role) in CASES.items():
        document = parse((OPS / path).read_text())
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        coerced = get_variable_values(
            graphql_schema, operation.variable_definitions or (), variables[label]
        )
        assert not isinstance(coerced, list), coerced
        plan = compiler.compile_operation(document, operation, role, coerced)
        values = coerced.coerced if hasattr(coerced, "coerced") else coerced
        params = plan.bind(
            compiler.Bindings(variables=values, base_url=BASE_URL, decode_id=decode_id)
        )
        statement, raw_params = raw.OPERATIONS[label](variables[label], BASE_URL)
        found[label] = {args.name: (plan.sql, params), "raw": (statement, raw_params)}
    _write(args.out, pickle.dumps(found))
    for label, variants in found.items():
        print(f"-- {label}: {variables[label]}\n{variants[args.name][0]}\n")


def _literal(value: Any) -> str:
    """A parameter as SQL text for ``EXECUTE name(...)`` (the statement's casts type it)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return f"'{value.isoformat()}'"
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            text = "NULL" if item is None else str(_literal(item)).strip("'")
            if item is not None:
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            items.append(text)
        return "'{" + ",".join(items).replace("'", "''") + "}'"
    return "'" + str(value).replace("'", "''") + "'"


def _backend_cpu(pid: int) -> int:
    """Nanoseconds the server process has run on a CPU (it runs on this machine): unlike the
    wall time, barely moved by what else the machine's two cores are doing."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


async def compare(args: argparse.Namespace) -> None:
    dumps = [pickle.loads(_read(p)) for p in args.dumps]
    conn = await _connect(args.database_url)
    try:
        await conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        backend = conn.get_server_pid()
        if args.plan_cache_mode:
            await conn.execute(f"SET plan_cache_mode = {args.plan_cache_mode}")
        labels = [label for label in dumps[0] if not args.only or label in args.only]
        for label in labels:
            variants: dict[str, tuple[str, list[Any]]] = {}
            for found in dumps:
                variants.update(found[label])
            names = sorted(variants, key=lambda n: (n == "raw", n))
            executes = {}
            for i, name in enumerate(names):
                statement, params = variants[name]
                prepared = f"cheap_{label.lower()}_{i}"
                await conn.execute(f"PREPARE {prepared} AS {statement}")
                executes[name] = f"EXECUTE {prepared}(" + ", ".join(map(_literal, params)) + ")"
            answers: dict[str, str] = {}
            for _ in range(args.warm):
                for name in names:
                    answers[name] = await conn.fetchval(executes[name])
            project = {answers[n] for n in names if n != "raw"}
            assert len(project) == 1, f"{label}: the compiled variants answer differently"
            wall: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(args.runs):
                for name in names:
                    before = _backend_cpu(backend)
                    start = time.perf_counter()
                    await conn.fetchval(executes[name])
                    wall[name].append((time.perf_counter() - start) * 1000)
                    cpu[name].append((_backend_cpu(backend) - before) / 1e6)
            print(f"== {label} ({args.runs} interleaved runs after {args.warm} each)")
            for i, name in enumerate(names):
                generic, custom = await conn.fetchrow(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE name = $1",
                    f"cheap_{label.lower()}_{i}",
                )
                print(
                    f"  {name:12s} backend CPU median {statistics.median(cpu[name]):7.2f} ms"
                    f"   wall median {statistics.median(wall[name]):7.2f} ms"
                    f" (min {min(wall[name]):6.2f})   plans: {generic} generic, {custom} custom"
                )
            if args.explain:
                for mode in ("force_custom_plan", "force_generic_plan"):
                    await conn.execute(f"SET plan_cache_mode = {mode}")
                    for name in names:
                        lines = await conn.fetch(
                            "EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + executes[name]
                        )
                        print(f"---- {label} {name} {mode}")
                        print("\n".join(r[0] for r in lines))
                    await conn.execute(f"SET plan_cache_mode = {args.plan_cache_mode or 'auto'}")
            for i in range(len(names)):
                await conn.execute(f"DEALLOCATE cheap_{label.lower()}_{i}")
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    d = commands.add_parser("dump")
    d.add_argument("--database-url", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--name", default="compiled", help="this checkout's label in the comparison")
    c = commands.add_parser("compare")
    c.add_argument("--database-url", required=True)
    c.add_argument("dumps", nargs="+")
    c.add_argument("--runs", type=int, default=15)
    c.add_argument("--warm", type=int, default=7)
    c.add_argument("--only", nargs="*")
    c.add_argument("--explain", action="store_true")
    c.add_argument("--plan-cache-mode", choices=("auto", "force_custom_plan", "force_generic_plan"))
    args = parser.parse_args()
    asyncio.run(dump(args) if args.command == "dump" else compare(args))
