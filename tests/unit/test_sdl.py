"""The committed SDL is the schema, and the clients' operations validate against it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from schema.sdl import SDL_PATH, export_sdl
from tests.conftest import ROOT

OPERATIONS = ROOT / "tests" / "contract" / "operations"
SHARED_OPERATIONS = ROOT.parent / "shared" / "contract" / "operations"
COMMITTED = ROOT / "schema" / "schema.graphql"


def _operations(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*.graphql"))
    }


@cache
def _schema() -> GraphQLSchema:
    return build_schema(COMMITTED.read_text())


def _errors(name: str) -> list[str]:
    document = parse((OPERATIONS / name).read_text())
    return [e.message for e in validate(_schema(), document)]


def test_committed_sdl_is_the_schema() -> None:
    assert SDL_PATH == COMMITTED
    assert COMMITTED.read_text() == export_sdl(), (
        "schema/schema.graphql is out of date: run "
        "`campaign schema export --output schema/schema.graphql` and review the diff "
        "(breaking changes must be deliberate)"
    )


def test_there_are_operations_for_every_client() -> None:
    names = _operations(OPERATIONS)
    assert {name.split("/")[0] for name in names} == {"web", "mobile", "lms", "admin"}


@pytest.mark.parametrize("name", sorted(_operations(OPERATIONS)))
def test_operation_validates_against_the_schema(name: str) -> None:
    assert _errors(name) == []


def test_operations_match_the_shared_contract() -> None:
    if not SHARED_OPERATIONS.is_dir():
        return  # a checkout without the shared folder: nothing to compare with
    assert _operations(OPERATIONS) == _operations(SHARED_OPERATIONS), (
        f"tests/contract/operations differs from {SHARED_OPERATIONS}: copy the shared contract"
    )
