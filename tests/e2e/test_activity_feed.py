"""The fan-out in one process (api/live/hub.py) and what mutations log, without WebSockets.

The npm graphql-ws client's view of the same is in test_subscriptions.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from strawberry.types import ExecutionResult

from api import metrics
from api.db.repositories import activity
from api.db.session import Database, asyncpg_connect_args
from api.domain.activity import ActivityEvent, CampaignChange, EventKind
from api.domain.enums import Role
from api.domain.principal import Principal
from api.live.hub import TOO_SLOW, ActivityHub
from schema.context import Context
from schema.schema import build_schema
from tests.e2e.conftest import Api, operation

GOAL = """
mutation ($input: SetCampaignGoalInput!) {
  setCampaignGoal(input: $input) { goal { target } userErrors { code } }
}"""


class FakeSocket:
    def __init__(self) -> None:
        self.closed: list[int] = []

    async def close(self, code: int, reason: str) -> None:
        self.closed.append(code)


async def _until(condition: Callable[[], Any], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def _next(batches: AsyncIterator[list[ActivityEvent]]) -> list[ActivityEvent]:
    return await asyncio.wait_for(anext(batches), 20)


@pytest.fixture
async def hub(demo_url: str, demo_db: Database) -> AsyncIterator[ActivityHub]:
    hub = ActivityHub(demo_db, demo_url, queue_size=2)
    await hub.start()
    assert hub.listener is not None
    await _until(lambda: hub.listener is not None and hub.listener.connected.is_set())
    yield hub
    await hub.stop()


async def _campaigns(db: Database) -> tuple[int, int]:
    async with db.unit_of_work() as session:
        demo = (await session.execute(sa.text("SELECT id FROM campaign"))).scalar_one()
        other = (
            await session.execute(
                sa.text(
                    "INSERT INTO campaign (slug, name, starts_on) "
                    "VALUES ('other', 'Other', '2026-10-05') RETURNING id"
                )
            )
        ).scalar_one()
    return demo, other


async def _change(db: Database, campaign_id: int) -> None:
    async with db.unit_of_work() as session:
        await activity.record(session, campaigns=[campaign_id], change=CampaignChange.GOAL_SET)


async def test_events_go_to_their_campaigns_subscribers_only(
    hub: ActivityHub, demo_db: Database
) -> None:
    demo, other = await _campaigns(demo_db)
    async with (
        hub.subscribe(demo, FakeSocket()) as demo_batches,
        hub.subscribe(other, FakeSocket()) as other_batches,
    ):
        await _change(demo_db, other)
        await _change(demo_db, demo)
        [event] = await _next(demo_batches)
        assert (event.kind, event.campaign_id) == (EventKind.CAMPAIGN_CHANGED, demo)
        [event] = await _next(other_batches)
        assert event.campaign_id == other
        assert other_batches is not demo_batches
    assert hub.subscriber_count == 0


async def test_a_full_queue_drops_its_subscriber_and_no_other(
    hub: ActivityHub, demo_db: Database
) -> None:
    demo, _ = await _campaigns(demo_db)
    slow_socket = FakeSocket()
    async with (
        hub.subscribe(demo, FakeSocket()) as reader,
        hub.subscribe(demo, slow_socket) as _never_read,
    ):
        for _ in range(3):  # the queue holds 2
            await _change(demo_db, demo)
            assert len(await _next(reader)) == 1  # the reader gets every change
        await _until(lambda: slow_socket.closed)
        assert slow_socket.closed == [TOO_SLOW]
        assert hub.subscriber_count == 1


async def test_the_subscribers_gauge_counts_open_subscriptions(
    hub: ActivityHub, demo_db: Database
) -> None:
    demo, _ = await _campaigns(demo_db)
    before = metrics.SUBSCRIBERS._value.get()
    async with hub.subscribe(demo, FakeSocket()), hub.subscribe(demo, FakeSocket()):
        assert metrics.SUBSCRIBERS._value.get() == before + 2
    assert metrics.SUBSCRIBERS._value.get() == before


async def test_changes_missed_while_not_listening_are_read_on_reconnection(
    hub: ActivityHub, demo_db: Database, demo_url: str
) -> None:
    assert hub.listener is not None
    demo, _ = await _campaigns(demo_db)
    async with hub.subscribe(demo, FakeSocket()) as batches:
        await _change(demo_db, demo)
        await _next(batches)  # the hub knows how far the log goes
        await hub.listener.stop()
        await _change(demo_db, demo)  # notified to nobody in this process
        hub.listener.start()
        [event] = await _next(batches)
        assert event.campaign_id == demo

        # The server ends the LISTEN session: the listener connects again by itself.
        connections = hub.listener.connections
        connection = await asyncpg.connect(**asyncpg_connect_args(demo_url))
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        await _until(lambda: hub.listener.connections > connections)  # type: ignore[union-attr]
        await _change(demo_db, demo)
        [event] = await _next(batches)
        assert event.campaign_id == demo


async def test_a_mutation_logs_its_change_in_its_own_transaction(api: Api) -> None:
    campaign = await api.data('{ campaign(slug: "learning-community") { id } }')
    campaign_id = campaign["campaign"]["id"]
    refused = await api.data(
        GOAL, {"input": {"campaignId": campaign_id, "metric": "POSTS", "target": 0}}
    )
    assert refused["setCampaignGoal"]["userErrors"]
    done = await api.data(
        GOAL, {"input": {"campaignId": campaign_id, "metric": "POSTS", "target": 40}}
    )
    assert not done["setCampaignGoal"]["userErrors"]
    rows = await _changes(api)
    assert [(r["change"], len(r["campaigns"])) for r in rows] == [("GOAL_SET", 1)]


async def _changes(api: Api) -> list[Any]:
    app_db: Database = api.client._transport.app.state.db  # type: ignore[attr-defined]
    async with app_db.reading() as session:
        result = await session.execute(sa.text("SELECT change, campaigns FROM activity_change"))
        return [dict(r._mapping) for r in result]


async def test_the_change_log_is_pruned_by_age(demo_db: Database) -> None:
    async with demo_db.unit_of_work() as session:
        change_id = await activity.record(session, published=[1])
        assert change_id is not None
        assert await activity.prune(session, datetime.now(UTC) - timedelta(hours=1)) == 0
        assert await activity.prune(session, datetime.now(UTC) + timedelta(hours=1)) == 1
        assert await activity.changes(session, [change_id]) == []


ACTIVITY = operation("web/CampaignActivity.graphql")


async def _first(hub: ActivityHub, db: Database, role: Role, slug: str) -> Any:
    context = Context(
        db=db, principal=Principal(role, "someone"), base_url="http://campaign.test", activity=hub
    )
    results = await build_schema().subscribe(
        ACTIVITY, variable_values={"slug": slug}, context_value=context
    )
    assert not isinstance(results, ExecutionResult)
    async with aclosing(results):
        return await asyncio.wait_for(anext(results), 20)


async def test_the_role_rules_of_queries_hold_for_subscriptions(
    hub: ActivityHub, demo_db: Database
) -> None:
    lms = await _first(hub, demo_db, Role.LMS, "learning-community")
    assert [e.extensions["code"] for e in lms.errors] == ["FORBIDDEN"]
    unknown = await _first(hub, demo_db, Role.MEMBER, "no-such-campaign")
    assert [e.extensions["code"] for e in unknown.errors] == ["NOT_FOUND"]
    assert hub.subscriber_count == 0


async def test_a_subscription_over_http_is_refused_as_the_clients_mistake(api: Api) -> None:
    body = await api.post(ACTIVITY, {"slug": "learning-community"})
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
    assert "graphql-transport-ws" in body["errors"][0]["message"]
