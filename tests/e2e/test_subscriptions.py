"""Live activity with the npm graphql-ws client, against API processes of their own.

Two API processes (each its own uvicorn on a free port) share one database; the sync worker
mirrors the simulator into it in this process. A subscriber on either process sees the
worker's commits; another campaign's events never reach it; a bad token is closed with 4403;
a subscriber that reads nothing is dropped while another keeps receiving.

Subscriptions are known to be live once a probe reaches them: a change-log row recorded for
the campaign (what a mutation records), so no test waits a fixed time for a subscription.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from api.auth import create_api_key, issue_token, revoke_api_key
from api.db.repositories import activity
from api.db.session import Database
from api.domain.activity import CampaignChange
from api.domain.enums import Role
from api.persisted import register_documents, sha256_of
from api.settings import Settings
from api.simulator.app import create_simulator, simulator_state
from api.simulator.config import DEFAULT_TOKEN, SimulatorConfig
from api.simulator.demo import demo_network
from api.simulator.server import BackgroundServer
from api.sync.scheduler import Worker
from tests import dbs
from tests.e2e.conftest import SECRET, settings_for
from tests.e2e.live import ACTIVITY, Client, Lines, Server, node_ready
from tests.integration.sync.conftest import ANCHOR, NOW, Sim, make_client, make_worker
from tests.integration.sync.conftest import set_up_campaign as set_up_demo

OTHER = "other-campaign"
DEMO = "learning-community"
FAT = Path(__file__).with_name("fat_activity.graphql")
EXPIRES_IN = 4  # seconds: a token's life in the expiry test


@dataclass
class Live:
    db: Database
    sim: Sim
    worker: Worker
    servers: tuple[Server, Server]
    campaigns: dict[str, int]
    node: str
    settings: Settings

    def token(self, role: Role = Role.ADMIN, ttl_seconds: int | None = None) -> str:
        subject = f"{role.value.lower()}@example.com"
        return issue_token(self.settings, role, subject, ttl_seconds=ttl_seconds)

    def client(
        self,
        server: Server,
        slug: str,
        *,
        role: Role = Role.ADMIN,
        ttl_seconds: int | None = None,
        **kw: Any,
    ) -> Client:
        params = {"Authorization": f"Bearer {self.token(role, ttl_seconds)}"}
        return Client(self.node, server.ws_url, params, {"slug": slug}, **kw)

    def post(self, group: str, body: str) -> None:
        network = self.sim.network
        [group_id] = [g.id for g in network.groups.values() if g.full_name == group]
        network.add_message(network.current_user_id, body, group_id=group_id)

    async def commit(self) -> float:
        """One worker pass; the moment it had committed everything it read."""
        await self.worker.run_once()
        return time.monotonic()

    async def until_live(self, slug: str, *clients: Client) -> None:
        """Probe until every client shows it is subscribed (a bounded poll)."""
        deadline = time.monotonic() + 60
        while True:
            async with self.db.unit_of_work() as session:
                await activity.record(
                    session, campaigns=[self.campaigns[slug]], change=CampaignChange.GOAL_SET
                )
            try:
                await asyncio.to_thread(
                    lambda: [c.wait_for(lambda c=c: _probed(c), "a probe", 2.0) for c in clients]
                )
                return
            except AssertionError:
                assert time.monotonic() < deadline, "\n".join(c.output() for c in clients)


def _probed(client: Client) -> bool:
    return any(e["__typename"] == "CampaignChanged" for _, e in client.events())


def _with(client: Client, marker: str) -> list[tuple[float, dict[str, Any]]]:
    return [
        (at, e)
        for at, e in client.events()
        if e["__typename"] == "PostPublished" and marker in e["post"]["excerpt"]
    ]


@pytest.fixture(scope="module")
def live_url(pg_server: dbs.TestServer, migrated_template: str) -> Iterator[str]:
    url = pg_server.create(template=migrated_template)
    yield url
    pg_server.drop(url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(live_url: str) -> AsyncIterator[Live]:
    node = node_ready()
    config = SimulatorConfig(tokens={DEFAULT_TOKEN}, live_activity_seconds=None)
    config.lift_rate_limits()
    app = create_simulator(demo_network(ANCHOR, NOW), config)
    db = Database.connect(live_url, pool_size=5)
    servers: list[Server] = []
    try:
        with BackgroundServer(app) as simulator:
            sim = Sim(simulator.url, simulator_state(app))
            async with make_client(sim) as client:
                worker = make_worker(db, client)
                await set_up_demo(db, worker)
                campaigns = await _other_campaign(db)
                await worker.run_once()  # mirrors both campaigns' feeds
                for _ in range(2):
                    # Revoked keys are looked for every 0.2 s (60 s by default), so that a
                    # test sees a revocation close its socket soon.
                    servers.append(
                        Server(
                            live_url,
                            SECRET,
                            subscription_queue="4",
                            subscription_key_check_seconds="0.2",
                        )
                    )
                settings = settings_for(live_url)
                yield Live(db, sim, worker, (servers[0], servers[1]), campaigns, node, settings)
    finally:
        for server in servers:
            server.stop()
        await db.dispose()
    # Refusals and drops are expected: logged at INFO, never as errors with tracebacks.
    for server in servers:
        assert not [line for line in server.errors if line.startswith(("ERROR", "Traceback"))], (
            server.output()
        )


async def _other_campaign(db: Database) -> dict[str, int]:
    """A second campaign, tracking a group the demo campaign does not."""
    async with db.unit_of_work() as session:
        other = (
            await session.execute(
                sa.text(
                    "INSERT INTO campaign (slug, name, starts_on) "
                    "VALUES (:slug, 'Other', '2026-10-05') RETURNING id"
                ),
                {"slug": OTHER},
            )
        ).scalar_one()
        await session.execute(
            sa.text(
                "INSERT INTO campaign_group (campaign_id, group_id) "
                "SELECT :c, id FROM microblog_group WHERE name = 'All Company'"
            ),
            {"c": other},
        )
        demo = (
            await session.execute(sa.text("SELECT id FROM campaign WHERE slug = :s"), {"s": DEMO})
        ).scalar_one()
    return {DEMO: demo, OTHER: other}


async def _stop(*processes: Lines) -> None:
    for process in processes:
        process.stop()


async def test_a_new_post_reaches_subscribers_on_every_api_process(live: Live) -> None:
    first, second = live.servers
    admin = live.client(first, DEMO)
    member = live.client(second, DEMO, role=Role.MEMBER)
    try:
        await live.until_live(DEMO, admin, member)
        marker = uuid.uuid4().hex[:10]
        live.post("Employee Engagement", f"Fresh from the team {marker}: a new podcast.")
        committed = await live.commit()
        for client in (admin, member):
            [(at, event)] = await asyncio.to_thread(
                client.wait_for, lambda c=client: _with(c, marker), "the new post"
            )
            # Within a second of the commit (the pass ended after it; its lines are read
            # as they come).
            assert at - committed < 1.0, at - committed
            assert event["post"]["author"]["fullName"]
            assert event["occurredAt"]
    finally:
        await _stop(admin, member)


async def test_another_campaigns_events_never_arrive(live: Live) -> None:
    first, second = live.servers
    demo = live.client(first, DEMO)
    other = live.client(second, OTHER)
    try:
        await live.until_live(DEMO, demo)
        await live.until_live(OTHER, other)
        other_marker, demo_marker = uuid.uuid4().hex[:10], uuid.uuid4().hex[:10]
        live.post("All Company", f"For everyone {other_marker}.")
        await live.commit()
        await asyncio.to_thread(
            other.wait_for, lambda: _with(other, other_marker), "the other campaign's post"
        )
        live.post("Employee Engagement", f"For the community {demo_marker}.")
        await live.commit()
        await asyncio.to_thread(demo.wait_for, lambda: _with(demo, demo_marker), "the demo post")
        # Each process hands out changes in the order they were committed: had the other
        # campaign's post been sent to the demo's subscriber, it would have come first.
        assert not _with(demo, other_marker)
        assert not _with(other, demo_marker)
    finally:
        await _stop(demo, other)


@pytest.mark.parametrize(
    "params",
    [
        {"Authorization": "Bearer not-a-token"},
        {"X-API-Key": "cg_not-a-key"},
        {},
    ],
    ids=["bad-token", "bad-key", "no-credentials"],
)
async def test_a_bad_or_missing_token_is_closed_with_4403(
    live: Live, params: dict[str, Any]
) -> None:
    client = Client(live.node, live.servers[0].ws_url, params, {"slug": DEMO})
    try:
        closed = await asyncio.to_thread(client.wait_for, client.closed, "the close")
        assert closed["code"] == 4403, closed
        assert not client.connected()
    finally:
        await _stop(client)


async def test_a_slow_subscriber_is_dropped_without_stalling_another(live: Live) -> None:
    server = live.servers[0]
    fast = live.client(server, DEMO)
    # Uncompressed, so that what it is sent fills its socket's buffers (deflate would shrink
    # the test's repetitive bodies a thousandfold).
    slow = live.client(server, DEMO, document=FAT, socket_options={"perMessageDeflate": False})
    try:
        await live.until_live(DEMO, fast, slow)
        slow.pause()  # reads nothing from now on: the socket's buffers fill, then its queue
        # Each event shows this body 28 times over (fat_activity.graphql): two or three events
        # fill the socket's buffers (loopback's may grow to tens of MB), then the queue.
        big = "x" * 700_000
        markers: list[str] = []
        for _ in range(40):
            marker = uuid.uuid4().hex[:10]
            markers.append(marker)
            live.post("Employee Engagement", f"Long read {marker} {big}")
            await live.commit()
            await asyncio.to_thread(fast.wait_for, lambda m=marker: _with(fast, m), "a post")
            if server.logged("dropped a subscriber"):
                break
        assert server.logged("dropped a subscriber"), server.output()
        assert all(_with(fast, m) for m in markers)  # the other subscriber missed nothing
        slow.resume()
        closed = await asyncio.to_thread(slow.wait_for, slow.closed, "the slow one's close")
        # 1013 "try again later" when the close frame got through; 1006 when the server
        # gave up waiting for a client that read nothing and cut the connection.
        assert closed["code"] in (1013, 1006), closed
        assert len(slow.events()) < len(fast.events())
    finally:
        await _stop(fast, slow)


async def test_a_socket_is_closed_with_4403_when_its_token_expires(live: Live) -> None:
    first = live.servers[0]
    lasting = live.client(first, DEMO)
    short: Client | None = None
    try:
        # Once one client has connected, node starts in well under a second (its files are
        # read); a few seconds leave the short-lived token time to be accepted first.
        await asyncio.to_thread(lasting.wait_for, lasting.connected, "the acknowledgement")
        issued = time.time()
        short = live.client(first, DEMO, ttl_seconds=EXPIRES_IN)
        closed = await asyncio.to_thread(short.wait_for, short.closed, "the expired token's close")
        closed_at = time.time()
        assert short.connected(), short.output()  # accepted, then closed when it expired
        assert closed["code"] == 4403, closed
        assert "expired" in closed["reason"], closed
        # `exp` is in whole seconds: the token ended less than a second before the ttl.
        assert closed_at >= issued + EXPIRES_IN - 1, closed_at - issued
        assert first.logged("WebSocket closed (4403): Forbidden: the token has expired.")
        # A token that has not expired keeps receiving on the same process.
        await live.until_live(DEMO, lasting)
        marker = uuid.uuid4().hex[:10]
        live.post("Employee Engagement", f"Still listening {marker}.")
        await live.commit()
        await asyncio.to_thread(lasting.wait_for, lambda: _with(lasting, marker), "the post")
        assert lasting.closed() is None
    finally:
        await _stop(lasting, *([short] if short else []))


async def test_a_socket_opened_with_an_api_key_is_closed_once_the_key_is_revoked(
    live: Live,
) -> None:
    name, kept = f"lms-{uuid.uuid4().hex[:8]}", f"lms-{uuid.uuid4().hex[:8]}"
    revoked_key = await create_api_key(live.db, name, Role.LMS)
    kept_key = await create_api_key(live.db, kept, Role.LMS)
    # The LMS may not read live activity: its operation is refused, its socket stays open.
    revoked = Client(live.node, live.servers[0].ws_url, {"X-API-Key": revoked_key}, {"slug": DEMO})
    other = Client(live.node, live.servers[0].ws_url, {"X-API-Key": kept_key}, {"slug": DEMO})
    try:
        for client in (revoked, other):
            await asyncio.to_thread(client.wait_for, client.connected, "the acknowledgement")
        assert await revoke_api_key(live.db, name)
        closed = await asyncio.to_thread(
            revoked.wait_for, revoked.closed, "the revoked key's close"
        )
        assert closed["code"] == 4403, closed
        assert "revoked" in closed["reason"], closed
        # The check that found one key revoked found the other one still valid.
        assert other.closed() is None, other.output()
    finally:
        await _stop(revoked, other)
        await revoke_api_key(live.db, kept)


@pytest.fixture
def stale_replica(pg_server: dbs.TestServer, migrated_template: str) -> Iterator[str]:
    """A "replica" that holds none of the primary's rows: as far behind as one can lag."""
    url = pg_server.create(template=migrated_template)
    yield url
    pg_server.drop(url)


async def test_events_are_read_from_the_primary_even_with_a_lagging_replica(
    live: Live, live_url: str, stale_replica: str
) -> None:
    server = Server(live_url, SECRET, database_read_url=stale_replica, db_pool_size="2")
    client = live.client(server, DEMO)
    try:
        # The campaign's slug, the probe's campaign and the post are all missing from the
        # replica: each is read from the primary, which sent the NOTIFY.
        await live.until_live(DEMO, client)
        marker = uuid.uuid4().hex[:10]
        live.post("Employee Engagement", f"Straight from the primary {marker}.")
        await live.commit()
        [(_, event)] = await asyncio.to_thread(
            client.wait_for, lambda: _with(client, marker), "the new post"
        )
        assert event["post"]["author"]["fullName"]
    finally:
        await _stop(client)
        server.stop()
    assert not [line for line in server.errors if line.startswith(("ERROR", "Traceback"))], (
        server.output()
    )


async def test_trusted_documents_hold_over_websocket_too(live: Live, live_url: str) -> None:
    server = Server(live_url, SECRET, trusted_documents="true", db_pool_size="2")
    clients: list[Client] = []
    try:
        member = live.client(server, DEMO, role=Role.MEMBER)
        admin = live.client(server, DEMO)
        clients += [member, admin]
        # The web app's document is not registered: a member's operation is refused, and
        # the socket stays open for registered ones.
        errors = await asyncio.to_thread(member.wait_for, member.refused, "the refusal")
        assert errors[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED", errors
        assert member.closed() is None
        # An admin's own document runs (CAMPAIGN_TRUSTED_DOCUMENTS_ADMIN_ADHOC's default).
        await live.until_live(DEMO, admin)
        # Registered, it runs for everyone.
        text = ACTIVITY.read_text()
        await register_documents(live.db, {sha256_of(text): text})
        registered = live.client(server, DEMO, role=Role.MEMBER)
        clients.append(registered)
        await live.until_live(DEMO, registered)
    finally:
        await _stop(*clients)
        server.stop()
    assert server.logged("PERSISTED_QUERY_NOT_ALLOWED (WebSocket operation")
    assert not [line for line in server.errors if line.startswith(("ERROR", "Traceback"))], (
        server.output()
    )
