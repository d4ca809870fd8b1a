"""What every mutation shares: user errors, one unit of work, the manager's topics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import data_version, people, topics
from api.domain.enums import Role
from api.errors import BadUserInput
from schema.boundary import field_problems
from schema.context import Info
from schema.types.node import decode_id

T = TypeVar("T")


@strawberry.type(description="Why a mutation did not do what was asked; nothing was written.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault.")
    message: str
    code: str = strawberry.field(
        description="INVALID, NOT_FOUND, DUPLICATE, FORBIDDEN or CONFLICT."
    )


class UserErrors(list[UserError]):
    def add(self, field: str | None, message: str, code: str = "INVALID") -> None:
        self.append(
            UserError(field=["input", field] if field else None, message=message, code=code)
        )


class _Rollback(Exception):
    pass


# What a constraint's violation means to the client.  A mutation checks what it can first;
# these answer the loser of a race the checks had passed, and rules only the database can see.
CONSTRAINTS: dict[str, tuple[str | None, str, str]] = {
    "ex_topic_manager_one_at_a_time": (
        "since",
        "The topic has another manager from this day on (assigned at the same time, "
        "or a handover planned for a later day); nothing was changed.",
        "CONFLICT",
    ),
    "uq_topic_manager_topic_id_person_id_since": (
        "since",
        "This person was assigned to the topic from this day at the same time.",
        "CONFLICT",
    ),
    "uq_resource_series_id_position": (
        "position",
        "The series has an episode at this position.",
        "DUPLICATE",
    ),
}


# A deadlock or serialisation failure is a race lost to concurrent writers, not a defect.
RACE_LOST = frozenset({"40P01", "40001"})


def sqlstate(exc: DBAPIError) -> str | None:
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code:
            return str(code)
    return None


def constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint, from the driver's error (asyncpg's, behind SQLAlchemy's)."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(error, "constraint_name", None)
        if name:
            return str(name)
    return None


async def run(
    info: Info, work: Callable[[AsyncSession, UserErrors], Awaitable[T]]
) -> tuple[T | None, UserErrors]:
    """Run ``work`` in one transaction; roll everything back when it reports a user error."""
    errors = UserErrors()
    result: T | None = None
    if _check_input(info, errors):
        return None, errors
    await info.context.before_write()
    try:
        async with info.context.db.unit_of_work() as session:
            result = await work(session, errors)
            if errors:
                raise _Rollback
            await data_version.bump(session)  # last: GET answers' ETags change with the commit
    except _Rollback:
        result = None
    except IntegrityError as exc:
        # A concurrent write won a race the checks had passed, or a rule only the database
        # holds was broken; the transaction was rolled back, so nothing of this one was kept.
        errors.clear()
        field, message, code = CONSTRAINTS.get(
            constraint_name(exc) or "",
            (None, "The change conflicts with data written at the same time; retry.", "CONFLICT"),
        )
        errors.add(field, message, code)
        result = None
    except DBAPIError as exc:
        if sqlstate(exc) not in RACE_LOST:
            raise
        errors.clear()
        errors.add(
            None, "The change conflicts with data written at the same time; retry.", "CONFLICT"
        )
        result = None
    return result, errors


def _check_input(info: Info, errors: UserErrors) -> bool:
    """Report input beyond the declared limits (schema.boundary) before any SQL runs."""
    field = info._raw_info.parent_type.fields[info._raw_info.field_name]
    for problem in field_problems(
        field, info._raw_info.field_nodes[0], info._raw_info.variable_values
    ):
        errors.append(UserError(field=list(problem.path), message=problem.message, code="INVALID"))
    return bool(errors)


def id_of(errors: UserErrors, value: str | None, field: str, expect: str) -> int | None:
    """The primary key behind a global id, or a user error."""
    if value is None:
        return None
    try:
        return decode_id(value, field=field, expect=expect)[1]
    except BadUserInput as exc:
        errors.add(field, exc.message, "INVALID")
        return None


async def managed_topics(info: Info, session: AsyncSession) -> set[int] | None:
    """Topic ids the caller manages; None for admins, who may touch every topic."""
    principal = info.context.principal
    assert principal is not None  # the field's permission class ran first
    if principal.role is Role.ADMIN:
        return None
    person = await people.find_person(session, principal.subject)
    if person is None:
        return set()
    return await topics.managed_topic_ids(session, person.id)


def check_managed(
    errors: UserErrors, allowed: set[int] | None, topic_ids: list[int], field: str
) -> None:
    if allowed is None:
        return
    if not topic_ids:
        errors.add(field, "Name at least one topic you manage.", "FORBIDDEN")
    elif not set(topic_ids) <= allowed:
        errors.add(field, "You can only do this for topics you manage.", "FORBIDDEN")


def ensure(
    condition: Any, errors: UserErrors, field: str, message: str, code: str = "INVALID"
) -> bool:
    if not condition:
        errors.add(field, message, code)
    return bool(condition)
