"""A full mirror of the demo network equals the simulator's content, and stays so."""

from __future__ import annotations

import sqlalchemy as sa

from api.db.repositories import topics
from api.db.session import Database
from api.domain.text import hashtags
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import (
    EVERY_THREAD_EVERY_PASS,
    Sim,
    make_client,
    make_worker,
    rows,
)


def _visible(sim: Sim) -> dict[int, object]:
    """What the token's user can read: live messages outside private groups it is not in."""
    network = sim.network
    private = {g.id for g in network.groups.values() if g.private}
    member = {g.id for g in network.groups.values() if network.current_user_id in g.member_ids}
    return {
        m.id: m
        for m in network.messages.values()
        if m.deleted_at is None
        and (m.group_id is None or m.group_id not in private or m.group_id in member)
    }


async def test_full_mirror_equals_the_simulator(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary

    expected = _visible(sim)
    posts = await rows(
        db,
        "SELECT p.external_id, p.body, p.like_count, p.reply_count, s.external_id AS starter,"
        " r.external_id AS replied_to FROM post p LEFT JOIN post s ON s.id = p.thread_starter_id"
        " LEFT JOIN post r ON r.id = p.replied_to_id WHERE p.deleted_at IS NULL",
    )
    assert {p.external_id for p in posts} == set(expected)
    for post in posts:
        message = sim.network.messages[post.external_id]
        assert post.body == message.body
        assert post.like_count == len(message.liker_ids)
        if message.is_starter:
            assert post.starter is None
            replies = [
                m for m in expected.values() if m.thread_id == message.id and not m.is_starter
            ]
            assert post.reply_count == len(replies)
        else:
            assert post.starter == message.thread_id
            assert post.replied_to == message.replied_to_id  # replies to replies keep their chain
    tags = await rows(
        db, "SELECT p.external_id, h.hashtag FROM post_hashtag h JOIN post p ON p.id = h.post_id"
    )
    mirrored_tags: dict[int, set[str]] = {}
    for external_id, tag in tags:
        mirrored_tags.setdefault(external_id, set()).add(tag)
    for external_id, message in expected.items():
        assert mirrored_tags.get(external_id, set()) == set(hashtags(message.body))

    people = await rows(db, "SELECT external_id, follower_count FROM person")
    followers = {e: n for e, n in people}
    for user in sim.network.users.values():
        assert followers[user.id] == user.followers


async def test_second_pass_changes_nothing(sim: Sim, mirrored: tuple[Database, Worker]) -> None:
    db, worker = mirrored
    await worker.run_once()
    query = "SELECT count(*), sum(like_count), count(DISTINCT external_id) FROM post"
    before = await rows(db, query)
    snapshots = await rows(db, "SELECT count(*) FROM post_metrics_snapshot")
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED"
    assert await rows(db, query) == before
    # Snapshots are appended only when a figure changes.
    assert await rows(db, "SELECT count(*) FROM post_metrics_snapshot") == snapshots


async def test_new_activity_arrives_on_the_next_pass(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    # Every thread read again each pass (the policy's schedule is tested in test_freshness).
    worker.config.freshness = EVERY_THREAD_EVERY_PASS
    await worker.run_once()
    network = sim.network
    lead = network.current_user_id
    group = next(g for g in network.groups.values() if g.full_name == "Employee Engagement")
    new = network.add_message(lead, "Pulse survey is open again #engagement", group_id=group.id)
    starter = next(
        m
        for m in network.messages.values()
        if m.is_starter and m.deleted_at is None and m.group_id == group.id and m.id != new.id
    )
    network.like(starter.id, 3)
    network.set_followers(lead, network.users[lead].followers + 5)
    await worker.run_once()
    [(body,)] = await rows(db, "SELECT body FROM post WHERE external_id = :e", e=new.id)
    assert body == new.body
    [(likes,)] = await rows(db, "SELECT like_count FROM post WHERE external_id = :e", e=starter.id)
    assert likes == len(starter.liker_ids)
    [(followers,)] = await rows(
        db, "SELECT follower_count FROM person WHERE external_id = :e", e=lead
    )
    assert followers == network.users[lead].followers
    snapshots = await rows(
        db,
        "SELECT followers FROM follower_snapshot s JOIN person p ON p.id = s.person_id"
        " WHERE p.external_id = :e ORDER BY observed_at",
        e=lead,
    )
    assert snapshots[-1][0] == followers


async def test_deletions_are_marked_not_dropped(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    worker.config.freshness = EVERY_THREAD_EVERY_PASS  # the demo's threads: re-read them
    await worker.run_once()
    network = sim.network
    reply = max((m for m in _visible(sim).values() if not m.is_starter), key=lambda m: m.created_at)
    network.delete(reply.id)
    await worker.run_once()
    [(deleted_at,)] = await rows(
        db, "SELECT deleted_at FROM post WHERE external_id = :e", e=reply.id
    )
    assert deleted_at is not None
    live = await rows(db, "SELECT count(*) FROM post WHERE deleted_at IS NULL")
    assert live[0][0] == len(_visible(sim))


async def test_edits_replace_the_body_and_its_hashtags(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    worker.config.freshness = EVERY_THREAD_EVERY_PASS  # the demo's threads: re-read them
    await worker.run_once()
    message = next(m for m in _visible(sim).values() if m.is_starter and "#change" in m.body)
    sim.network.edit(message.id, "Rewritten for the newsletter #Wellbeing")
    await worker.run_once()
    [(body,)] = await rows(db, "SELECT body FROM post WHERE external_id = :e", e=message.id)
    assert body == "Rewritten for the newsletter #Wellbeing"
    tags = await rows(
        db,
        "SELECT h.hashtag FROM post_hashtag h JOIN post p ON p.id = h.post_id WHERE p.external_id = :e",
        e=message.id,
    )
    assert tags == [("wellbeing",)]


async def test_replies_paged_before_their_starters_keep_their_threads(
    sim: Sim, fresh_db: Database
) -> None:
    # Feeds come newest first, so a busy group puts replies pages ahead of their starters,
    # and topic and staff feeds bring replies whose starters no feed has shown yet.
    from datetime import timedelta

    from tests.integration.sync.conftest import NOW, make_client, make_worker, set_up_campaign

    network = sim.network
    group = next(g for g in network.groups.values() if g.full_name == "Employee Engagement")
    people = sorted(network.users)
    starters: list[int] = []
    for n in range(120):
        at = NOW - timedelta(days=10) + timedelta(minutes=7 * n)
        if n % 3 and starters:
            parent = starters[-(n % 7) - 1] if len(starters) > 7 else starters[0]
            network.add_message(
                people[n % len(people)], f"Reply {n} #managing", replied_to_id=parent, at=at
            )
        else:
            starters.append(
                network.add_message(
                    people[n % len(people)], f"Starter {n}", group_id=group.id, at=at
                ).id
            )
    async with make_client(sim) as client:
        worker = make_worker(fresh_db, client)
        await set_up_campaign(fresh_db, worker)
        summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    expected = _visible(sim)
    posts = await rows(
        fresh_db,
        "SELECT p.external_id, s.external_id, p.deleted_at FROM post p"
        " LEFT JOIN post s ON s.id = p.thread_starter_id",
    )
    assert {e for e, _, deleted in posts if deleted is None} == set(expected)
    for external_id, starter, deleted in posts:
        message = network.messages[external_id]
        assert deleted is None, f"live message {external_id} marked deleted"
        assert starter == (None if message.is_starter else message.thread_id)


async def test_a_topic_no_tracked_feed_reaches_is_found_by_search(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    """Topic ids come from page references; a hashtag used only outside the tracked groups
    and staff is found by searching for it, and its posts are then mirrored."""
    db, worker = mirrored
    network = sim.network
    outsider = list(network.users.values())[-1]  # a colleague, not campaign staff
    elsewhere = network.add_group("Sales Floor", member_ids=[outsider.id])
    post = network.add_message(
        outsider.id, "Coaching huddle at 3 #SalesCoaching", group_id=elsewhere.id
    )
    async with db.unit_of_work() as session:
        [(campaign_id,)] = (await session.execute(sa.text("SELECT id FROM campaign"))).all()
        for hashtag in ("salescoaching", "nobodyusedthisyet"):
            await topics.create_topic(
                session, campaign_id=campaign_id, hashtag=hashtag, name=hashtag, description=None
            )
    sim.state.log.clear()

    await worker.run_once()

    [topic_id] = [t.id for t in network.topics.values() if t.normalized_name == "salescoaching"]
    found = await rows(db, "SELECT hashtag FROM topic WHERE external_id = :e", e=topic_id)
    assert found == [("salescoaching",)]
    [(body,)] = await rows(db, "SELECT body FROM post WHERE external_id = :e", e=post.id)
    assert body == post.body
    unknown = await rows(db, "SELECT external_id FROM topic WHERE hashtag = 'nobodyusedthisyet'")
    assert unknown == [(None,)]
    assert sim.state.log.count(path_prefix="/api/v1/search") == 2

    await worker.run_once()
    # A hashtag nobody has used is looked for again with the directory, not on every poll,
    # nor by a restarted worker.
    assert sim.state.log.count(path_prefix="/api/v1/search") == 2
    async with make_client(sim) as client:
        await make_worker(db, client).run_once()
    assert sim.state.log.count(path_prefix="/api/v1/search") == 2
