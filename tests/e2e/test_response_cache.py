"""The per-process response cache: a repeated read is answered without running a resolver,
after authentication, validation and the budget; any write makes the next answer fresh; no
principal ever gets another's entry; answers with errors are not kept."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from api.app import create_app
from api.auth import create_api_key
from api.db.repositories import data_version
from api.db.session import Database
from api.domain.enums import Role
from tests.e2e.conftest import Api, operation, settings_for
from tests.e2e.test_operations import delta, scrape

TOPIC_FEED = operation("mobile/TopicFeed.graphql")
FEED_VARS = {"hashtag": "leadership", "first": 5}
CAMPAIGNS = "query Campaigns { campaigns(first: 20) { edges { node { slug name } } } }"
SETUP = operation("admin/SetUpCampaign.graphql")
# Statements every request may send before execution: the key (api_key), the data version and
# the budget draw. Anything else is a resolver's.
_ADMISSION = ("api_key", "data_version", "query_budget")


def resolver_sql(statements: list[str]) -> list[str]:
    return [s for s in statements if not any(table in s for table in _ADMISSION)]


LOOKUPS = "campaign_graphql_response_cache_lookups_total"


async def post(api: Api, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    headers = dict(kw.pop("headers", None) or {})
    role = kw.pop("role", Role.MEMBER)
    if role is not None:
        subject = kw.pop("subject", "ann@example.com")
        headers["Authorization"] = f"Bearer {api.token(role, subject)}"
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **kw
    )
    assert response.status_code == 200, response.text
    return response


async def test_a_repeated_query_is_answered_without_resolver_sql(reader: Api) -> None:
    before = await scrape(reader.client)
    cold = await post(reader, TOPIC_FEED, FEED_VARS)
    assert "errors" not in cold.json()
    between = await scrape(reader.client)
    assert delta(between, before, LOOKUPS, outcome="miss") == 1

    reader.statements.clear()
    warm = await post(reader, TOPIC_FEED, FEED_VARS)
    assert resolver_sql(reader.statements) == []
    # Still admitted like any request: the version read and the budget drawn.
    assert any("data_version" in s for s in reader.statements)
    assert any("query_budget" in s for s in reader.statements)
    after = await scrape(reader.client)
    assert delta(after, between, LOOKUPS, outcome="hit") == 1
    assert delta(after, between, LOOKUPS, outcome="miss") == 0
    assert after[("campaign_graphql_response_cache_bytes", ())] > len(cold.content) / 2

    # The same data, byte for byte; the cost is this request's own (one more draw).
    assert warm.json()["data"] == cold.json()["data"]
    data_text = cold.text[: cold.text.index(',"extensions":')]
    assert warm.text.startswith(data_text)
    cold_cost, warm_cost = (r.json()["extensions"]["cost"] for r in (cold, warm))
    assert warm_cost["requestedQueryCost"] == cold_cost["requestedQueryCost"]
    # (The bucket refills between the two: that the hit draws is shown by the spent budget.)
    assert warm_cost["throttleStatus"]["maximumAvailable"] > 0
    assert warm.headers["content-type"] == cold.headers["content-type"]


async def test_other_variables_media_types_and_get_are_their_own_entries(reader: Api) -> None:
    await post(reader, TOPIC_FEED, FEED_VARS)
    reader.statements.clear()
    await post(reader, TOPIC_FEED, {**FEED_VARS, "first": 6})
    assert resolver_sql(reader.statements)

    accept = {"Accept": "application/graphql-response+json"}
    reader.statements.clear()
    first = await post(reader, TOPIC_FEED, FEED_VARS, headers=accept)
    assert resolver_sql(reader.statements)
    reader.statements.clear()
    again = await post(reader, TOPIC_FEED, FEED_VARS, headers=accept)
    assert resolver_sql(reader.statements) == []
    assert again.headers["content-type"].startswith("application/graphql-response+json")
    assert again.json()["data"] == first.json()["data"]

    # GET keeps its answers too, beside its ETag.
    params = {"query": TOPIC_FEED, "variables": json.dumps(FEED_VARS)}
    headers = {"Authorization": f"Bearer {reader.token(Role.MEMBER, 'ann@example.com')}"}
    got = await reader.client.get("/graphql", params=params, headers=headers)
    reader.statements.clear()
    got_again = await reader.client.get("/graphql", params=params, headers=headers)
    assert got_again.status_code == 200
    assert resolver_sql(reader.statements) == []
    assert got_again.headers["etag"] == got.headers["etag"]
    assert got_again.json()["data"] == got.json()["data"]


async def test_a_mutation_makes_the_next_answer_fresh(api: Api) -> None:
    before = await post(api, CAMPAIGNS)
    await post(api, CAMPAIGNS)  # now kept
    created = await api.data(
        SETUP,
        {"input": {"slug": "cache-test", "name": "Cache test", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
    )
    assert created["createCampaign"]["userErrors"] == []
    api.statements.clear()
    after = await post(api, CAMPAIGNS)
    assert resolver_sql(api.statements)
    slugs = [e["node"]["slug"] for e in after.json()["data"]["campaigns"]["edges"]]
    assert "cache-test" in slugs
    assert after.json() != before.json()


async def test_a_worker_commit_makes_the_next_answer_fresh(api: Api, demo_db: Database) -> None:
    await post(api, CAMPAIGNS)
    await post(api, CAMPAIGNS)  # now kept
    # As the worker writes: its rows and the version bump in one transaction.
    async with demo_db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "INSERT INTO campaign (slug, name, starts_on) "
                "VALUES ('worker-made', 'Worker made', '2027-01-01')"
            )
        )
        await data_version.bump(session)
    after = (await post(api, CAMPAIGNS)).json()
    assert "worker-made" in [e["node"]["slug"] for e in after["data"]["campaigns"]["edges"]]


async def test_principals_never_share_an_entry(api: Api, demo_db: Database) -> None:
    await post(api, TOPIC_FEED, FEED_VARS, role=Role.MANAGER, subject="ann@example.com")
    for role, subject in [
        (Role.MANAGER, "bob@example.com"),  # another manager
        (Role.MEMBER, "ann@example.com"),  # the same subject in another role
        (Role.ADMIN, "admin@example.com"),
        (Role.ADMIN, "eve@example.com"),  # even where the role alone decides the answer
    ]:
        api.statements.clear()
        await post(api, TOPIC_FEED, FEED_VARS, role=role, subject=subject)
        assert resolver_sql(api.statements), (role, subject)
    # Each kept its own: asked again, each is a hit.
    api.statements.clear()
    await post(api, TOPIC_FEED, FEED_VARS, role=Role.MANAGER, subject="bob@example.com")
    assert resolver_sql(api.statements) == []

    # LMS keys: each key apart, and apart from people.
    resources = operation("lms/ResourceLinks.graphql")
    variables = {"hashtag": "leadership"}
    moodle = {"X-API-Key": await create_api_key(demo_db, "moodle", Role.LMS)}
    canvas = {"X-API-Key": await create_api_key(demo_db, "canvas", Role.LMS)}
    await post(api, resources, variables, role=Role.MEMBER)
    for headers in (moodle, canvas):
        api.statements.clear()
        await post(api, resources, variables, role=None, headers=headers)
        assert resolver_sql(api.statements)
    api.statements.clear()
    await post(api, resources, variables, role=None, headers=moodle)
    assert resolver_sql(api.statements) == []


async def test_a_revoked_key_is_refused_though_its_answer_is_kept(
    api: Api, demo_db: Database
) -> None:
    headers = {"X-API-Key": await create_api_key(demo_db, "moodle", Role.LMS)}
    query = "{ topics { totalCount } }"
    await post(api, query, role=None, headers=headers)
    await post(api, query, role=None, headers=headers)  # kept
    async with demo_db.unit_of_work() as session:
        await session.execute(sa.text("UPDATE api_key SET revoked_at = now()"))
    body = (await post(api, query, role=None, headers=headers)).json()
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_answers_with_errors_and_refusals_are_not_kept(reader: Api) -> None:
    # A member may not read emails: a field error beside partial data.
    partial = "{ people(first: 2) { nodes { fullName email } } }"
    for _ in range(2):
        reader.statements.clear()
        body = (await post(reader, partial)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert resolver_sql(reader.statements)


async def test_a_spent_budget_is_refused_though_the_answer_is_kept(api: Api) -> None:
    # A client cannot hammer a kept answer for free: every hit draws its cost.
    query = "{ campaigns(first: 100) { nodes { slug } } }"
    first = (await post(api, query, role=Role.MEMBER, subject="greedy@example.com")).json()
    cost = first["extensions"]["cost"]["requestedQueryCost"]
    available = first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
    refused = None
    # The bucket refills meanwhile, slowly (100 points a second for members).
    for _ in range(2 * (available // cost) + 50):
        body = (await post(api, query, role=Role.MEMBER, subject="greedy@example.com")).json()
        if body.get("errors"):
            refused = body
            break
    assert refused is not None
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


@pytest.fixture
async def uncached(shared_demo_url: str) -> AsyncIterator[Api]:
    settings = settings_for(shared_demo_url).model_copy(update={"response_cache_bytes": 0})
    db = Database.connect(shared_demo_url, pool_size=2)
    app = create_app(settings, db=db)
    api = Api(client=None, settings=settings)  # type: ignore[arg-type]

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        api.statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as c:
            api.client = c
            yield api
    await db.dispose()


async def test_zero_bytes_turns_the_cache_off(uncached: Api) -> None:
    await post(uncached, TOPIC_FEED, FEED_VARS)
    uncached.statements.clear()
    await post(uncached, TOPIC_FEED, FEED_VARS)
    assert resolver_sql(uncached.statements)
    # Nor is the version read over POST.
    assert not any("data_version" in s for s in uncached.statements)
