"""How a mutation's transaction failing in the database is answered (no database needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from schema.mutations.base import UserErrors, run


class DriverError(Exception):
    def __init__(self, sqlstate: str, constraint_name: str | None = None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate
        self.constraint_name = constraint_name


@pytest.fixture(autouse=True)
def _inputs_within_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake info has no GraphQL field to check; the input limits have tests of their own.
    monkeypatch.setattr("schema.mutations.base._check_input", lambda info, errors: False)


def _info() -> Any:
    @asynccontextmanager
    async def unit_of_work() -> AsyncIterator[None]:
        yield None

    async def before_write() -> None:
        pass

    db = SimpleNamespace(unit_of_work=unit_of_work)
    return SimpleNamespace(context=SimpleNamespace(db=db, before_write=before_write))


async def _answer(exc: Exception) -> list[tuple[Any, str]]:
    async def work(session: Any, errors: UserErrors) -> Any:
        errors.add("name", "an earlier check's complaint")
        raise exc

    result, errors = await run(_info(), work)
    assert result is None
    return [(e.field, e.code) for e in errors]


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("ex_topic_manager_one_at_a_time", [(["input", "since"], "CONFLICT")]),
        ("uq_resource_series_id_position", [(["input", "position"], "DUPLICATE")]),
        ("some_other_constraint", [(None, "CONFLICT")]),
        (None, [(None, "CONFLICT")]),
    ],
)
async def test_constraint_violations_are_user_errors(
    constraint: str | None, expected: list[tuple[Any, str]]
) -> None:
    exc = IntegrityError("INSERT ...", {}, DriverError("23P01", constraint))
    assert await _answer(exc) == expected


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
async def test_a_lost_deadlock_or_serialisation_race_is_a_conflict(sqlstate: str) -> None:
    exc = OperationalError("UPDATE ...", {}, DriverError(sqlstate))
    assert await _answer(exc) == [(None, "CONFLICT")]


async def test_other_database_failures_are_not_hidden() -> None:
    exc = DBAPIError("SELECT ...", {}, DriverError("57P01"))  # admin shutdown
    with pytest.raises(DBAPIError):
        await _answer(exc)
