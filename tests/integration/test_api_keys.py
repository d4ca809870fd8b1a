"""API keys: listed and revoked from the command line, refused at once by every process,
and their last use recorded at most once a minute, off the requests' path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.engine import make_url

from api.auth import KeyUses, create_api_key, key_uses, verify_api_key
from api.cli import main
from api.db.session import Database
from api.domain.enums import Role
from api.errors import Unauthenticated
from api.settings import get_settings

# Generous bound for "does not wait on the lock": a blocked call would wait forever.
NOT_BLOCKED = 60.0


def _cli(url: str, *args: str) -> tuple[int, str]:
    get_settings.cache_clear()  # the command reads DATABASE_URL once per process
    result = CliRunner().invoke(main, ["apikey", *args], env={"DATABASE_URL": url})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


async def _off_loop(url: str, *args: str) -> tuple[int, str]:
    # The command runs its own event loop (asyncio.run); keep it off the test's.
    return await asyncio.to_thread(_cli, url, *args)


async def _rows(db: Database) -> list[Any]:
    async with db.reading() as session:
        return list(
            await session.execute(
                sa.text("SELECT id, name, last_used_at, revoked_at FROM api_key ORDER BY id")
            )
        )


@pytest.fixture
async def other_process(fresh_url: str) -> AsyncIterator[Database]:
    """A second API process on the same database: its own engine and its own KeyUses."""
    db = Database.connect(fresh_url, pool_size=2)
    yield db
    await key_uses(db).drain()
    await db.dispose()


async def test_list_shows_names_created_and_last_use(fresh_url: str, fresh_db: Database) -> None:
    code, output = await _off_loop(fresh_url, "list")
    assert code == 0, output
    assert output.split() == ["ID", "NAME", "ROLE", "CREATED", "LAST", "USED", "REVOKED"]

    code, key = await _off_loop(fresh_url, "create", "--name", "lms-prod")
    assert code == 0, key
    await create_api_key(fresh_db, "lms-staging", Role.LMS)
    await verify_api_key(fresh_db, key.strip())
    await key_uses(fresh_db).drain()

    code, output = await _off_loop(fresh_url, "list")
    assert code == 0, output
    header, prod, staging = output.splitlines()
    assert header.startswith("ID  NAME")
    assert prod.split()[:3] == ["1", "lms-prod", "LMS"]
    assert "UTC" in prod
    assert prod.split()[-1] == "-"  # not revoked
    assert staging.split()[:3] == ["2", "lms-staging", "LMS"]
    assert " never " in staging  # never used
    assert key.strip() not in output  # the key is shown once, at creation


async def test_revoke_by_name_or_id_is_refused_at_once_by_every_process(
    fresh_url: str, fresh_db: Database, other_process: Database
) -> None:
    prod = await create_api_key(fresh_db, "lms-prod", Role.LMS)
    staging = await create_api_key(fresh_db, "lms-staging", Role.LMS)
    for db in (fresh_db, other_process):
        assert (await verify_api_key(db, prod)).role is Role.LMS

    code, output = await _off_loop(fresh_url, "revoke", "lms-prod")
    assert code == 0, output
    assert "Revoked key 1 (lms-prod)" in output
    # The very next request of either process is refused: nothing caches a key's validity.
    for db in (fresh_db, other_process):
        with pytest.raises(Unauthenticated, match="revoked"):
            await verify_api_key(db, prod)
        assert (await verify_api_key(db, staging)).role is Role.LMS

    code, output = await _off_loop(fresh_url, "revoke", "2")
    assert code == 0, output
    with pytest.raises(Unauthenticated):
        await verify_api_key(other_process, staging)

    code, output = await _off_loop(fresh_url, "revoke", "lms-prod")
    assert code == 1
    assert "No unrevoked API key" in output
    code, output = await _off_loop(fresh_url, "list")
    assert code == 0, output
    for line in output.splitlines()[1:]:
        assert line.endswith(" UTC"), line  # the REVOKED column holds a time
    assert all(r.revoked_at is not None for r in await _rows(fresh_db))


def _count_updates(db: Database) -> tuple[list[str], Any]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEY"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    return seen, count


async def test_last_use_is_recorded_once_a_minute_per_process(
    fresh_db: Database, other_process: Database
) -> None:
    key = await create_api_key(fresh_db, "lms", Role.LMS)
    updates, listener = _count_updates(fresh_db)
    try:
        await asyncio.gather(*(verify_api_key(fresh_db, key) for _ in range(40)))
        await key_uses(fresh_db).drain()
    finally:
        event.remove(fresh_db.engine.sync_engine, "before_cursor_execute", listener)
    assert len(updates) == 1
    [row] = await _rows(fresh_db)
    assert row.last_used_at is not None

    # Another process records too, but the database keeps the mark of the last minute.
    await verify_api_key(other_process, key)
    await key_uses(other_process).drain()
    [again] = await _rows(fresh_db)
    assert again.last_used_at == row.last_used_at


async def test_a_locked_key_row_does_not_hold_up_its_requests(
    fresh_url: str, fresh_db: Database, other_process: Database
) -> None:
    key = await create_api_key(fresh_db, "lms", Role.LMS)
    # Someone holds the key's row (a slow marker in another process, an admin's transaction).
    async with other_process.unit_of_work() as holder:
        await holder.execute(sa.text("SELECT 1 FROM api_key FOR UPDATE"))
        principals = await asyncio.wait_for(
            asyncio.gather(*(verify_api_key(fresh_db, key) for _ in range(10))), NOT_BLOCKED
        )
        assert {p.role for p in principals} == {Role.LMS}
        # The background mark skips the locked row rather than queueing behind it.
        await asyncio.wait_for(key_uses(fresh_db).drain(), NOT_BLOCKED)
    [row] = await _rows(fresh_db)
    assert row.last_used_at is None


async def test_a_failed_mark_is_tried_again_with_the_next_request(
    fresh_url: str, fresh_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await create_api_key(fresh_db, "lms", Role.LMS)
    [row] = await _rows(fresh_db)
    unreachable = Database.connect(
        make_url(fresh_url).set(database="no_such_database").render_as_string(False),
        pool_size=1,
    )
    try:
        uses = KeyUses(unreachable)
        uses.used(row.id)
        await uses.drain()
        assert "could not record the last use" in caplog.text
        # Not remembered as recorded: the next request of the key tries again.
        uses.db = fresh_db
        uses.used(row.id)
        await uses.drain()
    finally:
        await unreachable.dispose()
    [marked] = await _rows(fresh_db)
    assert marked.last_used_at is not None


def test_revoke_needs_a_name_or_id() -> None:
    result = CliRunner().invoke(main, ["apikey", "revoke"])
    assert result.exit_code == 2
    assert "NAME_OR_ID" in result.output
