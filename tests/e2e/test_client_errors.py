"""Every client mistake is the client's: BAD_USER_INPUT (queries) or userErrors (mutations),
never INTERNAL_SERVER_ERROR, and the database never sees what it would refuse."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from api.domain.enums import Role
from schema.types.node import encode_id
from tests.e2e import demo_facts as facts
from tests.e2e.conftest import Api, operation
from tests.e2e.test_defence import codes

SETUP = operation("admin/SetUpCampaign.graphql")
TOPIC_BY_TAG = "query Topic($h: String!) { topic(hashtag: $h) { id } }"
POSTS = "query Posts($first: Int, $filter: PostFilterInput) { posts(first: $first, filter: $filter) { totalCount } }"
PERFORMANCE = """query Perf($slug: String!, $since: DateTime!, $until: DateTime!) {
  campaign(slug: $slug) { performance(since: $since, until: $until) { posts } } }"""
TOPICS_AFTER = "query Page($after: String) { topics(first: 2, after: $after) { totalCount } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"


def raw_id(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cursor(value: Any, id_: Any) -> str:
    raw = json.dumps([value, id_]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# (name, document, variables, words the message must hold)
QUERY_MISTAKES: list[tuple[str, str, dict[str, Any], str]] = [
    ("missing-variable", TOPIC_BY_TAG, {}, "non-null type 'String!'"),
    ("wrong-type", POSTS, {"first": "ten"}, "Int cannot represent"),
    ("unknown-enum", POSTS, {"filter": {"kinds": ["NOPE"]}}, "NOPE"),
    ("int-over-32-bits", POSTS, {"first": 2**40}, "32-bit"),
    ("impossible-date", POSTS, {"filter": {"since": "2026-02-30T00:00:00+00:00"}}, "since"),
    ("wrong-input-field", POSTS, {"filter": {"authr": "x"}}, "authr"),
    ("long-hashtag", TOPIC_BY_TAG, {"h": "a" * 5000}, "longer than"),
    ("nul-in-text", POSTS, {"filter": {"text": "lead\x00ership"}}, "NUL"),
    ("nul-in-hashtag", TOPIC_BY_TAG, {"h": "change\x00"}, "NUL"),
    ("id-over-2^63", NODE, {"id": raw_id(f"Person:{2**63}")}, "not a valid id"),
    ("id-full-width-digits", NODE, {"id": raw_id("Person:\uff11\uff12")}, "not a valid id"),
    ("cursor-id-over-2^63", TOPICS_AFTER, {"after": cursor(1, 2**64)}, "cursor"),
    ("cursor-value-over-2^63", TOPICS_AFTER, {"after": cursor(2**64, 1)}, "cursor"),
    (
        "since-year-1",
        PERFORMANCE,
        {"slug": facts.SLUG, "since": "0001-01-01T00:00:00+00:00", "until": facts.UNTIL},
        "2000",
    ),
    (
        "until-year-9999",
        PERFORMANCE,
        {"slug": facts.SLUG, "since": facts.SINCE, "until": "9999-12-31T00:00:00+00:00"},
        "2100",
    ),
]


@pytest.mark.parametrize(
    ("document", "variables", "words"),
    [pytest.param(d, v, w, id=n) for n, d, v, w in QUERY_MISTAKES],
)
async def test_query_mistakes_are_bad_user_input(
    reader: Api, document: str, variables: dict[str, Any], words: str
) -> None:
    body = await reader.post(document, variables)
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert words in body["errors"][0]["message"], body
    assert not body.get("data") or not any(body["data"].values()), body


async def test_input_limits_are_checked_before_any_sql(reader: Api) -> None:
    reader.statements.clear()
    body = await reader.post(POSTS, {"filter": {"hashtags": ["x" * 5000]}})
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == "filter.hashtags"
    assert reader.statements == []


# (operation, input, field at fault)
MUTATION_MISTAKES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "CreateTopic",
        {"campaignId": encode_id("Campaign", 1), "hashtag": "h" * 5000, "name": "Long"},
        ["input", "hashtag"],
    ),
    (
        "AddResource",
        {"kind": "ARTICLE", "title": "Long", "url": "https://example.com/" + "p" * 20_000},
        ["input", "url"],
    ),
    (
        "CreateCampaign",
        {"slug": "nul", "name": "Nul\x00Name", "startsOn": "2027-01-01"},
        ["input", "name"],
    ),
    (
        "CreateCampaign",
        {"slug": "ancient", "name": "Ancient", "startsOn": "0001-01-01"},
        ["input", "startsOn"],
    ),
    (
        "AssignTopicManager",
        {
            "topicId": encode_id("Topic", 1),
            "personId": raw_id(f"Person:{2**63}"),
        },
        ["input", "personId"],
    ),
]


@pytest.mark.parametrize(
    ("name", "input_", "field"),
    MUTATION_MISTAKES,
    ids=[f"{m[0]}-{m[2][-1]}" for m in MUTATION_MISTAKES],
)
async def test_mutation_mistakes_are_user_errors(
    api: Api, name: str, input_: dict[str, Any], field: list[str]
) -> None:
    data = await api.data(SETUP, {"input": input_}, operation_name=name)
    (payload,) = data.values()
    assert payload["userErrors"], payload
    assert payload["userErrors"][0]["field"] == field, payload
    assert payload["userErrors"][0]["code"] == "INVALID", payload


async def test_mutation_variable_that_does_not_coerce_is_bad_user_input(api: Api) -> None:
    api.statements.clear()
    body = await api.post(
        SETUP,
        {"input": {"slug": "feb", "name": "Feb", "startsOn": "2026-02-30"}},
        operation_name="CreateCampaign",
    )
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert "startsOn" in body["errors"][0]["message"]
    assert api.statements == []


@pytest.mark.parametrize("body", ['"x"', "5", "null", "true", "[]", "[1, 2]"])
async def test_a_json_body_that_is_not_an_object_is_400(reader: Api, body: str) -> None:
    response = await reader.client.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {reader.token(Role.ADMIN)}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text
    assert "JSON object" in response.text


async def test_an_operation_name_that_is_not_a_string_is_400(reader: Api) -> None:
    response = await reader.client.post(
        "/graphql",
        json={"query": "{ topics { totalCount } }", "operationName": 5},
        headers={"Authorization": f"Bearer {reader.token(Role.ADMIN)}"},
    )
    assert response.status_code == 400, response.text


async def test_a_syntax_error_is_parse_failed(reader: Api) -> None:
    body = await reader.post("{ topics { ")
    assert codes(body) == ["GRAPHQL_PARSE_FAILED"], body


async def test_a_literal_a_scalar_refuses_is_a_validation_error(reader: Api) -> None:
    query = '{ posts(filter: {since: "2026-02-30T00:00:00Z"}) { totalCount } }'
    body = await reader.post(query)
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
