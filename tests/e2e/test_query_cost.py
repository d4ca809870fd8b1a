"""Cost before execution and budgets per principal, over HTTP, with the SQL they run counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from api.app import create_app
from api.auth import create_api_key
from api.db.session import Database
from api.domain.enums import Role
from tests.e2e.conftest import Api, operation, settings_for

FAN_OUT = """
{ topics(first: 20) { nodes { posts(first: 100) { nodes { replies(first: 20) { nodes {
  author { posts(first: 20) { nodes { id body } } } } } } } } } }
"""
TEN = "{ topics(first: 10) { nodes { id hashtag } } }"  # costs 10


@asynccontextmanager
async def app_on(url: str, **overrides: Any) -> AsyncIterator[Api]:
    """One API process: its own engines and app on ``url``, counting the SQL it sends."""
    settings = settings_for(url).model_copy(update=overrides)
    db = Database.connect(url, pool_size=5)
    app = create_app(settings, db=db)
    api = Api(client=None, settings=settings)  # type: ignore[arg-type]

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        api.statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                api.client = client
                yield api
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        await db.dispose()


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def test_every_answer_carries_its_cost_and_the_principal_s_budget(reader: Api) -> None:
    body = await reader.post(operation("web/CampaignDashboard.graphql"), _dashboard_variables())
    assert "errors" not in body, body["errors"]
    cost = body["extensions"]["cost"]
    settings = reader.settings
    assert cost["requestedQueryCost"] == 100
    assert cost["maximumQueryCost"] == settings.query_cost_max
    throttle = cost["throttleStatus"]
    assert throttle["maximumAvailable"] == settings.query_budget_admin
    assert throttle["restoreRate"] == settings.query_budget_admin_restore
    assert 0 <= throttle["currentlyAvailable"] <= settings.query_budget_admin - 100


def _dashboard_variables() -> dict[str, str]:
    return {
        "slug": "leadership-2026",
        "since": "2026-10-05T00:00:00Z",
        "until": "2026-11-30T00:00:00Z",
    }


async def test_a_query_over_the_maximum_is_refused_before_any_sql(reader: Api) -> None:
    reader.statements.clear()
    body = await reader.post(FAN_OUT, role=Role.MEMBER, subject="ann@example.com")
    assert reader.statements == []  # no budget statement, no resolver
    assert body["data"] is None
    (error,) = body["errors"]
    expected = 20 * (1 + 100 * (1 + 20 * (1 + 20)))
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": expected,
        "maximumCost": reader.settings.query_cost_max,
    }
    assert str(expected) in error["message"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == expected


async def test_aliases_and_fragments_cannot_hide_cost(reader: Api) -> None:
    copies = " ".join(
        f"p{i}: posts(first: 100) {{ nodes {{ ...R }} }}" for i in range(3)
    )  # 3 x 100 x (1 + 10) = 3,300
    document = f"{{ {copies} }} fragment R on Post {{ replies(first: 10) {{ nodes {{ id }} }} }}"
    reader.statements.clear()
    body = await reader.post(document)
    assert _code(body) == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["extensions"]["cost"] == 3 * 100 * 11
    assert reader.statements == []


async def test_a_budget_smaller_than_the_maximum_is_the_limit(fresh_url: str) -> None:
    async with app_on(fresh_url, query_budget_member=50) as api:
        api.statements.clear()
        body = await api.post(
            "{ topics(first: 60) { nodes { id } } }", role=Role.MEMBER, subject="m@example.com"
        )
        assert body["errors"][0]["extensions"]["maximumCost"] == 50
        assert _code(body) == "QUERY_TOO_COMPLEX"
        assert api.statements == []


BUDGET = {"query_budget_member": 100, "query_budget_member_restore": 0.001}


async def test_two_app_instances_draw_from_one_budget(fresh_url: str) -> None:
    member = {"role": Role.MEMBER, "subject": "shared@example.com"}
    async with app_on(fresh_url, **BUDGET) as one, app_on(fresh_url, **BUDGET) as two:
        left = []
        for api in (one, two) * 5:  # 10 x 10 points: the whole bucket, alternately
            body = await api.post(TEN, **member)
            assert "errors" not in body, body["errors"]
            left.append(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"])
        # The small restore rate may give back a fraction of a point, never a whole one.
        assert left == [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]

        two.statements.clear()
        body = await two.post(TEN, **member)
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        # 10 points at 0.001 a second: 10,000 s, less what dripped back since.
        assert 9_000 < error["extensions"]["retryAfter"] <= 10_000
        assert error["extensions"]["cost"] == 10
        (statement,) = two.statements  # the budget's, and no resolver's
        assert "query_budget" in statement
        # Someone else's budget is untouched.
        body = await one.post(TEN, role=Role.MEMBER, subject="other@example.com")
        assert "errors" not in body

    # A restarted process still finds the budget spent.
    async with app_on(fresh_url, **BUDGET) as three:
        body = await three.post(TEN, **member)
        assert _code(body) == "RATE_LIMITED"


async def test_a_budget_refills_with_time(fresh_url: str) -> None:
    member = {"role": Role.MEMBER, "subject": "refill@example.com"}
    async with app_on(fresh_url, **BUDGET) as api:
        for _ in range(10):
            assert "errors" not in await api.post(TEN, **member)
        assert _code(await api.post(TEN, **member)) == "RATE_LIMITED"
        # Move the bucket's clock back instead of waiting: 15,000 s at 0.001/s is 15 points.
        db = Database.connect(fresh_url, pool_size=1)
        try:
            async with db.unit_of_work() as session:
                await session.execute(
                    sa.text(
                        "UPDATE query_budget SET updated_at = updated_at - interval '15000 s'"
                        " WHERE principal = 'MEMBER:refill@example.com'"
                    )
                )
        finally:
            await db.dispose()
        body = await api.post(TEN, **member)
        assert "errors" not in body, body["errors"]
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5


@pytest.mark.parametrize("requests", [24])
async def test_concurrent_requests_from_two_instances_never_overspend(
    fresh_url: str, requests: int
) -> None:
    member = {"role": Role.MEMBER, "subject": "race@example.com"}
    async with app_on(fresh_url, **BUDGET) as one, app_on(fresh_url, **BUDGET) as two:
        bodies = await asyncio.gather(
            *(api.post(TEN, **member) for api in [one, two] * (requests // 2))
        )
    codes = [_code(b) for b in bodies]
    assert codes.count(None) == 10  # exactly the bucket's 100 points, however they raced
    assert codes.count("RATE_LIMITED") == requests - 10


async def test_each_lms_key_has_a_budget_of_its_own(fresh_url: str) -> None:
    async with app_on(fresh_url, query_budget_lms=30, query_budget_lms_restore=0.001) as api:
        db = Database.connect(fresh_url, pool_size=1)
        try:
            first = {"X-API-Key": await create_api_key(db, "moodle", Role.LMS)}
            second = {"X-API-Key": await create_api_key(db, "canvas", Role.LMS)}
        finally:
            await db.dispose()
        resources = "{ resources(first: 10) { nodes { id } } }"
        for _ in range(3):
            body = await api.post(resources, role=None, headers=first)
            assert "errors" not in body, body["errors"]
        assert body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 30
        assert _code(await api.post(resources, role=None, headers=first)) == "RATE_LIMITED"
        assert "errors" not in await api.post(resources, role=None, headers=second)
