"""Regression tests for issue 9's smaller findings: nodes, ids, LIKE patterns, tracked links,
INTERNAL resources, logging and messages."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

import api.db.repositories.topics as topic_repo
from api.app import create_app
from api.db.session import Database
from api.domain import demo_content as content
from api.domain.enums import Role
from schema.types.node import encode_id
from tests.e2e.conftest import Api, operation, settings_for
from tests.e2e.test_client_errors import raw_id
from tests.e2e.test_defence import codes

SETUP = operation("admin/SetUpCampaign.graphql")
TOPIC = encode_id("Topic", 1)
PERSON = encode_id("Person", 1)
LMS = {"role": Role.LMS, "subject": "lms-key"}


# -- nodes(ids:) ----------------------------------------------------------------------------------
async def test_one_bad_id_nulls_only_its_own_place_in_nodes(reader: Api) -> None:
    body = await reader.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [TOPIC, "not-an-id", PERSON, raw_id("Topic:\uff11")]},
        **LMS,
    )
    nodes = body["data"]["nodes"]
    assert nodes[0] == {"id": TOPIC}
    assert nodes[1:] == [None, None, None]
    by_path = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert by_path == {
        ("nodes", 1): "BAD_USER_INPUT",
        ("nodes", 2): "FORBIDDEN",
        ("nodes", 3): "BAD_USER_INPUT",
    }


async def test_ids_take_ascii_digits_only(reader: Api) -> None:
    for text in ("Person:\uff11\uff12", "Person:1_2", "Person: 12", "Person:012", "Person:+12"):
        body = await reader.post("query($id: ID!) { node(id: $id) { id } }", {"id": raw_id(text)})
        assert codes(body) == ["BAD_USER_INPUT"], (text, body)
    assert (await reader.data(f'{{ node(id: "{PERSON}") {{ id }} }}'))["node"] == {"id": PERSON}


# -- LIKE patterns ----------------------------------------------------------------------------------
@pytest.mark.parametrize("search", ["%", "_", "%%", "Employee%", "Employee_Engagement"])
async def test_group_search_takes_wildcards_literally(reader: Api, search: str) -> None:
    query = "query($s: String) { groups(search: $s) { totalCount } }"
    assert (await reader.data(query, {"s": search}))["groups"]["totalCount"] == 0


async def test_group_search_still_finds_by_part_of_a_name(reader: Api) -> None:
    query = "query($s: String) { groups(search: $s) { nodes { name } } }"
    data = await reader.data(query, {"s": "ployee engage"})
    assert [g["name"] for g in data["groups"]["nodes"]] == [content.GROUPS[0][0]]


# -- tracked links ---------------------------------------------------------------------------------
TRACKED = "{ resources(first: 1) { nodes { trackedUrl } } }"


async def test_tracked_links_never_come_from_the_host_header(reader: Api) -> None:
    body = await reader.post(TRACKED, headers={"Host": "evil.example"})
    url = body["data"]["resources"]["nodes"][0]["trackedUrl"]
    assert url.startswith("http://campaign.test/r/"), url


async def test_in_development_tracked_links_use_the_listen_address(
    shared_demo_url: str,
) -> None:
    import httpx

    settings = settings_for(shared_demo_url).model_copy(
        update={"environment": "development", "public_url": None, "port": 8123}
    )
    db = Database.connect(shared_demo_url, pool_size=2)
    app = create_app(settings, db=db)
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://evil.x") as c:
                api = Api(client=c, settings=settings)
                body = await api.post(TRACKED)
    finally:
        await db.dispose()
    url = body["data"]["resources"]["nodes"][0]["trackedUrl"]
    assert url.startswith("http://127.0.0.1:8123/r/"), url


@pytest.mark.parametrize("token", ["%00", "abc%00def", "x" * 5000, "a.b"])
async def test_a_tracked_link_token_that_is_not_one_of_ours_is_404_without_sql(
    reader: Api, token: str
) -> None:
    reader.statements.clear()
    for method in ("GET", "HEAD"):
        response = await reader.client.request(method, f"/r/{token}")
        assert response.status_code == 404, (method, response.text)
    assert reader.statements == []


# -- INTERNAL resources ----------------------------------------------------------------------------
async def test_internal_resources_never_reach_the_lms(api: Api) -> None:
    hashtag = (await api.data(f'{{ node(id: "{TOPIC}") {{ ... on Topic {{ hashtag }} }} }}'))[
        "node"
    ]["hashtag"]
    added = await api.data(
        SETUP,
        {
            "input": {
                "kind": "ARTICLE",
                "title": "Staff only",
                "url": "https://intranet.example.com/staff-only",
                "topicIds": [TOPIC],
                "visibility": "INTERNAL",
            }
        },
        operation_name="AddResource",
    )
    assert added["addResource"]["userErrors"] == []
    internal = added["addResource"]["resource"]["id"]

    listing = """query($h: String!) {
      resources(first: 50, filter: {hashtag: $h}) { totalCount nodes { id } }
      topic(hashtag: $h) { resources { id } }
    }"""
    as_admin = await api.data(listing, {"h": hashtag})
    assert internal in [n["id"] for n in as_admin["resources"]["nodes"]]
    assert internal in [r["id"] for r in as_admin["topic"]["resources"]]

    as_lms = await api.data(listing, {"h": hashtag}, **LMS)
    assert internal not in [n["id"] for n in as_lms["resources"]["nodes"]]
    assert as_lms["resources"]["totalCount"] == as_admin["resources"]["totalCount"] - 1
    assert internal not in [r["id"] for r in as_lms["topic"]["resources"]]
    # Refetched by id it is as unknown; the LMS does not even learn that it exists.
    node = await api.post(
        "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }", {"id": internal}, **LMS
    )
    assert "errors" not in node
    assert node["data"] == {"node": None, "nodes": [None]}


# -- logs and messages ----------------------------------------------------------------------------
async def test_expected_refusals_are_logged_at_info_without_traceback(
    reader: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="schema.errors")
    body = await reader.post(
        "{ people(first: 1) { nodes { email } } }", role=Role.MEMBER, subject="m@example.com"
    )
    assert body["errors"][0]["message"] == "The MEMBER role may not read Person.email."
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    records = [r for r in caplog.records if r.name == "schema.errors"]
    assert records
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in records), records


async def test_defects_are_masked_and_logged_at_error_with_the_request_id(
    reader: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> Any:
        raise RuntimeError("a defect with a secret in its message")

    monkeypatch.setattr(topic_repo, "page_topics", broken)
    caplog.set_level(logging.INFO, logger="schema.errors")
    response = await reader.client.post(
        "/graphql",
        json={"query": "{ topics { nodes { id } } }"},
        headers={"Authorization": f"Bearer {reader.token()}", "X-Request-ID": "req-42"},
    )
    assert response.headers["X-Request-ID"] == "req-42"
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "secret" not in response.text
    (record,) = [r for r in caplog.records if r.name == "schema.errors"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "req-42" in record.getMessage()


@pytest.mark.parametrize(
    ("role", "operation_name", "input_", "message"),
    [
        (
            Role.MEMBER,
            "CreateTopic",
            {"campaignId": encode_id("Campaign", 1), "hashtag": "x", "name": "X"},
            "The MEMBER role may not run createTopic.",
        ),
        (
            Role.LMS,
            "AddResource",
            {"kind": "ARTICLE", "title": "T", "url": "https://example.com/t"},
            "The LMS role may not run addResource.",
        ),
    ],
)
async def test_refusals_say_plainly_what_may_not_be_done(
    reader: Api, role: Role, operation_name: str, input_: dict[str, Any], message: str
) -> None:
    body = await reader.post(
        SETUP, {"input": input_}, role=role, subject="x@example.com", operation_name=operation_name
    )
    assert [e["message"] for e in body["errors"]] == [message]
