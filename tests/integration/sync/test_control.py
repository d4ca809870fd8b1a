"""Change notifications, requested runs and inaccessible groups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import sqlalchemy as sa

from api.db import models
from api.db.repositories import activity, sync_runs
from api.db.session import Database, asyncpg_connect_args
from api.sync.notify import CHANNEL
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows, set_up_campaign


async def test_each_committed_page_notifies_what_changed(
    fresh_url: str, fresh_db: Database, sim: Sim
) -> None:
    notified: list[int] = []
    listener = await asyncpg.connect(**asyncpg_connect_args(fresh_url))
    # The payload is the change-log row's id: a few bytes, however much the page changed.
    await listener.add_listener(CHANNEL, lambda *args: notified.append(int(args[-1])))

    async def received() -> list[Any]:
        async with fresh_db.reading() as session:
            return await activity.changes(session, notified)

    try:
        async with make_client(sim) as client:
            worker = make_worker(fresh_db, client)
            await set_up_campaign(fresh_db, worker)
            await worker.run_once()
            posts = {i for (i,) in await rows(fresh_db, "SELECT id FROM post")}
            # Notifications arrive asynchronously after their commit: wait for them, bounded.
            await _until(lambda: len(notified) >= 1)
            await _until_async(
                lambda: _published(received),
                lambda found: found >= posts,
            )
            changes = await received()
            published = {i for change in changes for i in change.published}
            assert published == posts  # every new post announced once it was committed
            assert any(change.followers for change in changes)

            notified.clear()
            network = sim.network
            lead = network.current_user_id
            network.set_followers(lead, network.users[lead].followers + 2)
            await worker.run_once()
            await _until_async(received, lambda found: any(c.followers for c in found))
            changes = await received()
    finally:
        await listener.close()
    followers = [f for change in changes for f in change.followers]
    [(person_id,)] = await rows(fresh_db, "SELECT id FROM person WHERE external_id = :e", e=lead)
    assert [person_id, network.users[lead].followers, 2] in followers


async def _published(received: Callable[[], Awaitable[list[Any]]]) -> set[int]:
    return {i for change in await received() for i in change.published}


async def _until_async(
    read: Callable[[], Awaitable[Any]], condition: Callable[[Any], bool], seconds: float = 20
) -> None:
    deadline = time.monotonic() + seconds
    while not condition(await read()):
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_requested_run_is_picked_up_by_the_active_worker(
    fresh_db: Database, sim: Sim
) -> None:
    async with make_client(sim) as client:
        await set_up_campaign(fresh_db, make_worker(fresh_db, client))
        worker = make_worker(fresh_db, client)
        worker.config.poll_interval = 3600  # only a request can start the next pass
        task = asyncio.create_task(worker.run_forever())
        try:
            for _ in range(600):  # a bounded poll: up to a minute on a busy machine
                if await rows(
                    fresh_db,
                    "SELECT 1 FROM sync_run WHERE trigger = 'SCHEDULE' AND status = 'SUCCEEDED'",
                ):
                    break
                await asyncio.sleep(0.1)
            async with fresh_db.unit_of_work() as session:
                assert await sync_runs.queue_run(session, ["GROUP"], "admin@example.com")
            for _ in range(600):  # a bounded poll: up to a minute on a busy machine
                done = await rows(fresh_db, "SELECT status FROM sync_run WHERE trigger = 'REQUEST'")
                if done and done[0][0] == "SUCCEEDED":
                    break
                await asyncio.sleep(0.1)
            assert done == [("SUCCEEDED",)]
        finally:
            worker.stop.set()
            await task


async def test_private_group_is_recorded_inaccessible_not_retried(
    fresh_db: Database, sim: Sim
) -> None:
    private = next(g for g in sim.network.groups.values() if g.private)
    async with make_client(sim) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        # An admin tracks a private group the token's user is not a member of.
        async with fresh_db.unit_of_work() as session:
            group_id = (
                await session.execute(
                    sa.insert(models.MicroblogGroup)
                    .values(external_id=private.id, name=private.full_name)
                    .returning(models.MicroblogGroup.id)
                )
            ).scalar_one()
            await session.execute(
                sa.insert(models.CampaignGroup).values(campaign_id=1, group_id=group_id)
            )
        first = await worker.run_once()
        assert first.status == "PARTIAL"
        [(inaccessible, error)] = await rows(
            fresh_db,
            "SELECT inaccessible, last_error FROM sync_feed WHERE external_id = :e",
            e=private.id,
        )
        assert inaccessible
        assert "Forbidden" in error
        sim.state.log.clear()
        second = await worker.run_once()
    assert second.status == "SUCCEEDED"
    assert sim.state.log.count(path_prefix=f"/api/v1/messages/in_group/{private.id}") == 0
    [(accessible,)] = await rows(
        fresh_db, "SELECT accessible FROM microblog_group WHERE id = :g", g=group_id
    )
    assert accessible is False


async def test_private_messages_reached_through_a_public_feed_are_never_stored(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    await worker.run_once()  # the campaign's feeds, topics included, are known
    network = sim.network
    lead = network.current_user_id  # campaign staff: their own feed is followed too
    colleague = list(network.users.values())[-1]
    # A private community the token's user belongs to, but no campaign tracks.
    circle = network.add_group("Secret Circle", private=True, member_ids=[lead, colleague.id])
    hidden = network.add_message(colleague.id, "Private plans #managing", group_id=circle.id)
    own = network.add_message(lead, "Between us #managing", group_id=circle.id)
    reply = network.add_message(lead, "Agreed #managing", replied_to_id=hidden.id)
    open_floor = network.add_group("Open Floor", member_ids=[lead, colleague.id])
    public = network.add_message(colleague.id, "Open plans #managing", group_id=open_floor.id)

    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    stored = {e for (e,) in await rows(db, "SELECT external_id FROM post")}
    assert public.id in stored
    assert {hidden.id, own.id, reply.id} & stored == set()
    # The topic and the lead's feeds did list them: the mirror, not the microblog, left
    # them out.
    [(topic,)] = await rows(
        db, "SELECT external_id FROM sync_feed WHERE kind = 'TOPIC' AND name = '#managing'"
    )
    listed = {m.id for m in (await worker.client.feed("about_topic", topic)).messages}
    assert {hidden.id, own.id, reply.id, public.id} <= listed
    # Nor is a walk of their thread owed: nothing of it is wanted.
    assert await rows(db, "SELECT external_id FROM sync_feed WHERE kind = 'THREAD'") == []
