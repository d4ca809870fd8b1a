"""The order of defence (schema/extensions.py): each refusal comes before any SQL statement."""

from __future__ import annotations

from typing import Any

import pytest

import schema.extensions
from api.domain.enums import Role
from tests.e2e.conftest import Api

# A chain of fields that stays valid at any length: topics -> nodes -> campaign -> topics ...
_CHAIN = ["topics(first: 1)", "nodes", "campaign"]


def nested(levels: int) -> str:
    """A query exactly ``levels`` fields deep (the leaf `id` included)."""
    wrappers = [_CHAIN[i % 3] for i in range(levels - 1)]
    assert wrappers[-1] != "topics(first: 1)", "choose a depth whose leaf can be `id`"
    return "{ " + " { ".join(wrappers) + " { id" + " }" * len(wrappers) + " }"


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def refused(api: Api, query: str, code: str, **kwargs: Any) -> dict[str, Any]:
    """Post ``query``; it must be refused with ``code`` alone and run no SQL statement."""
    api.statements.clear()
    body = await api.post(query, **kwargs)
    assert codes(body) == [code], body
    assert body.get("data") is None, body
    assert api.statements == [], api.statements
    return body


async def test_depth_counts_field_levels_exactly(reader: Api) -> None:
    data = await reader.data(nested(12))
    assert data["topics"]["nodes"]
    body = await refused(reader, nested(13), "QUERY_TOO_COMPLEX")
    assert body["errors"][0]["extensions"]["depth"] == 13
    assert body["errors"][0]["extensions"]["maxDepth"] == 12


async def test_depth_counts_through_fragments(reader: Api) -> None:
    # 9 levels in the operation, 4 more in the fragments (named and inline).
    inner = nested(10).replace("{ id }", "{ ...C }", 1)
    assert "...C" in inner
    query = (
        inner
        + " fragment C on Campaign { ... on Campaign { topics(first: 1) { ...T } } }"
        + " fragment T on TopicConnection { nodes { campaign { id } } }"
    )
    body = await refused(reader, query, "QUERY_TOO_COMPLEX")
    assert body["errors"][0]["extensions"]["depth"] == 13


async def test_aliases_over_the_limit(reader: Api) -> None:
    fields = " ".join(f"t{i}: topics(first: 1) {{ totalCount }}" for i in range(31))
    body = await refused(reader, "{ " + fields + " }", "QUERY_TOO_COMPLEX")
    assert body["errors"][0]["extensions"]["aliases"] == 31


async def test_a_wide_document_is_refused(reader: Api) -> None:
    # A fragment counts at every place it is spread: each level doubles (series, episodes).
    fragments = " ".join(
        f"fragment R{i} on Resource {{ id series {{ ...R{i + 1} }} episodes {{ ...R{i + 1} }} }}"
        for i in range(8)
    )
    query = "{ resources(first: 1) { nodes { ...R0 } } } " + fragments
    query += " fragment R8 on Resource { id title }"
    body = await refused(reader, query, "QUERY_TOO_COMPLEX")
    assert body["errors"][0]["extensions"]["fields"] == 1279, body  # 1,277 in R0 and two above it


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ topics { nodes { " + "id " * 1249 + "} } }", id="one-field-1249-times"),
        pytest.param("{ " + "topics { nodes { id } } " * 250 + "}", id="one-subtree-250-times"),
        pytest.param(
            "{ topics { nodes { ...A ...A ...A ...A ...A ...A ...A ...A ...A ...A ...A } } }"
            " fragment A on Topic { id }",
            id="one-fragment-11-times",
        ),
    ],
)
async def test_repeated_fields_are_refused_before_validation(reader: Api, query: str) -> None:
    body = await refused(reader, query, "QUERY_TOO_COMPLEX")
    assert "maxRepeats" in body["errors"][0]["extensions"], body


async def test_too_many_tokens(reader: Api) -> None:
    await refused(reader, "{ topics { nodes { " + "id " * 6000 + "} } }", "QUERY_TOO_COMPLEX")


async def test_an_oversized_body_is_refused_with_413_before_it_is_read(reader: Api) -> None:
    reader.statements.clear()
    big = {"query": "{ topics { totalCount } }", "variables": {"pad": "x" * 2_000_000}}
    response = await reader.client.post(
        "/graphql", json=big, headers={"Authorization": f"Bearer {reader.token()}"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert reader.statements == []


async def test_an_oversized_body_without_length_is_cut_off(reader: Api) -> None:
    async def chunks() -> Any:
        yield b'{"query": "{ topics { totalCount } }", "variables": {"pad": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}}'

    reader.statements.clear()
    response = await reader.client.post(
        "/graphql",
        content=chunks(),
        headers={
            "Authorization": f"Bearer {reader.token()}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413, response.text
    assert reader.statements == []


async def test_a_body_under_the_limit_is_served(reader: Api) -> None:
    body = {"query": "{ topics { totalCount } }", "variables": {"pad": "x" * 900_000}}
    response = await reader.client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {reader.token()}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["topics"]["totalCount"] > 0


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ topics { nodes { " + "id " * 1249 + "} } }", id="repeated"),
        pytest.param("{ nonsense }", id="invalid"),
        pytest.param(nested(13), id="deep"),
    ],
)
async def test_anonymous_documents_stop_before_validation(
    reader: Api, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(schema.extensions, "too_complex", lambda *a: calls.append(a))
    monkeypatch.setattr(schema.extensions, "validate_document", lambda *a: calls.append(a))
    # A text of its own, so that no cached result for it could hide a call.
    body = await refused(reader, query + " # anonymous", "UNAUTHENTICATED", role=None)
    assert "Sign in" in body["errors"][0]["message"]
    assert calls == []


async def test_a_repeated_document_is_validated_once(
    reader: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = schema.extensions.validate_document
    calls: list[Any] = []

    def counting(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(schema.extensions, "validate_document", counting)
    query = "query OnlyOnce { topics(first: 3) { totalCount nodes { hashtag } } }"
    first = await reader.data(query)
    for role in (Role.ADMIN, Role.ADMIN, Role.ADMIN):
        assert await reader.data(query, role=role) == first
    assert len(calls) == 1
