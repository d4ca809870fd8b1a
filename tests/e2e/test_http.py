"""The HTTP surface around GraphQL: liveness, readiness, GraphiQL and queries over GET."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from starlette.types import Message

from api.app import create_app
from api.db.session import Database
from api.domain import demo_content as content
from api.domain.enums import Role
from tests import dbs
from tests.e2e.conftest import Api, settings_for

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


@asynccontextmanager
async def _client(url: str, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    """An app that owns its database engines (as in production), with a client on it."""
    app = create_app(settings_for(url).model_copy(update=settings))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://campaign.test"
        ) as client:
            yield client


# -- liveness and readiness ---------------------------------------------------------------------
async def test_healthz_is_ok_even_when_the_database_is_unreachable() -> None:
    async with _client(UNREACHABLE) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_unavailable_when_the_database_is_unreachable() -> None:
    async with _client(UNREACHABLE) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503


async def test_healthz_needs_no_credentials(reader: Api) -> None:
    response = await reader.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_on_a_migrated_database(empty_api: Api) -> None:
    response = await empty_api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_readyz_is_unavailable_on_a_database_that_is_not_migrated(
    pg_server: dbs.TestServer,
) -> None:
    url = pg_server.create()
    try:
        async with _client(url) as client:
            response = await client.get("/readyz")
            assert response.status_code == 503, response.text
            assert response.json()["status"] != "ready"
            # Liveness does not depend on it.
            assert (await client.get("/healthz")).status_code == 200
    finally:
        pg_server.drop(url)


async def test_readyz_is_unavailable_when_migrations_are_pending(
    empty_api: Api, fresh_db: Database
) -> None:
    async with fresh_db.unit_of_work() as session:
        await session.execute(sa.text("UPDATE alembic_version SET version_num = 'an-older-one'"))
    response = await empty_api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] != "ready"


# -- GraphiQL and GET ---------------------------------------------------------------------------
# The page itself and its assets: tests/e2e/test_graphiql.py and test_graphiql_browser.py.
async def test_queries_via_get(reader: Api) -> None:
    response = await reader.client.get(
        "/graphql",
        params={"query": "{topics{totalCount}}"},
        headers={"Authorization": f"Bearer {reader.token(Role.MEMBER, 'm@example.com')}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"] == {"topics": {"totalCount": len(content.TOPICS)}}


async def test_queries_via_get_with_variables(reader: Api) -> None:
    response = await reader.client.get(
        "/graphql",
        params={
            "query": "query($h: String!) { topic(hashtag: $h) { name } }",
            "variables": '{"h": "#Change"}',
        },
        headers={"Authorization": f"Bearer {reader.token()}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"topic": {"name": "Change"}}


async def test_anonymous_query_via_get_is_unauthenticated(reader: Api) -> None:
    response = await reader.client.get("/graphql", params={"query": "{topics{totalCount}}"})
    body = response.json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}
    assert body.get("data") is None


async def test_mutations_via_get_are_refused(api: Api, demo_db: Database) -> None:
    async def campaigns() -> int:
        async with demo_db.reading() as session:
            return (await session.execute(sa.text("SELECT count(*) FROM campaign"))).scalar_one()

    before = await campaigns()
    mutation = (
        'mutation { createCampaign(input: {slug: "via-get", name: "Via GET", '
        'startsOn: "2027-01-04"}) { campaign { id } userErrors { code } } }'
    )
    response = await api.client.get(
        "/graphql",
        params={"query": mutation},
        headers={"Authorization": f"Bearer {api.token(Role.ADMIN)}"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert "data" not in response.text or response.json().get("data") is None
    assert await campaigns() == before
    # The same mutation over POST works: it was the method that was refused.
    data = await api.data(mutation)
    assert data["createCampaign"]["userErrors"] == []
    assert await campaigns() == before + 1


async def test_queries_over_the_limits_are_refused_as_too_complex(reader: Api) -> None:
    deep = (
        '{ topic(hashtag: "change") { '
        + "campaign { topics(first: 1) { nodes { " * 6
        + "id"
        + " } } }" * 6
        + " } }"
    )
    aliases = "{ " + " ".join(f't{i}: topic(hashtag: "change") {{ id }}' for i in range(40)) + " }"
    tokens = "{ topics { nodes { " + "id " * 6000 + "} } }"
    for query in (deep, aliases, tokens):
        body = await reader.post(query)
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body["errors"][0]
        assert body.get("data") is None


async def test_no_graphiql_page_when_it_is_off(shared_demo_url: str) -> None:
    async with _client(shared_demo_url, graphiql=False) as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in response.text.lower()


async def test_a_client_gone_before_its_body_arrived_is_no_error(
    fresh_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Load generators and flaky mobile networks drop the connection mid-body; that is nobody's
    # defect, so nothing is logged at ERROR and nothing is answered.
    app = create_app(settings_for(fresh_url))
    sent: list[Message] = []
    messages = iter(
        [
            {"type": "http.request", "body": b'{"query": "{ sync', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"campaign.test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("campaign.test", 80),
    }
    async with LifespanManager(app):
        with caplog.at_level(logging.INFO):
            await app(scope, receive, send)
    assert [m for m in sent if m["type"] == "http.response.start"] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
