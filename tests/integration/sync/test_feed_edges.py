"""Feeds at their edges: empty at first, walks cut short, catch-ups that fail half-way,
deletions that were not, and replies whose threads the mirror has never seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.db.repositories import ingest, mirror, sync_runs, sync_state
from api.db.session import Database
from api.domain.enums import SyncFeedKind
from api.simulator.model import Message
from api.sync.errors import MicroblogUnavailable
from api.sync.jobs import Mirror
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import EVERY_THREAD_EVERY_PASS, NOW, Sim, rows
from tests.integration.sync.test_worker import _visible
from tests.unit.sync import fakes

LIVE = "SELECT count(*) FROM post WHERE deleted_at IS NULL"


def _group(sim: Sim, name: str = "Employee Engagement") -> Any:
    return next(g for g in sim.network.groups.values() if g.full_name == name)


async def _follow_group(db: Database, group_id: int, name: str) -> None:
    async with db.unit_of_work() as session:
        await sync_state.ensure_feeds(
            session, [sync_state.FeedRef(SyncFeedKind.GROUP, group_id, name)]
        )


async def _feed(db: Database, kind: str, external_id: int) -> Any:
    [feed] = await rows(
        db,
        "SELECT newest_seen_id, oldest_seen_id, backfill_complete, last_error FROM sync_feed"
        " WHERE kind = :k AND external_id = :e",
        k=kind,
        e=external_id,
    )
    return feed


def _ignore_older_than(worker: Worker, kind: str, feed_id: int) -> None:
    """The server answers one feed as if ``older_than`` were not there (spec §10.5), until
    ``_mend`` (the client's own method again)."""
    client = worker.client
    original = client.feed

    async def feed(k: str, i: int, *, older_than: int | None = None, **kw: Any) -> Any:
        ignored = k == kind and i == feed_id
        return await original(k, i, older_than=None if ignored else older_than, **kw)

    client.feed = feed


def _mend(worker: Worker) -> None:
    del worker.client.feed


# -- how a walk ends ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "reached_end", "reason"),
    [
        ({}, True, "short_page"),
        ({"honour_older_than": False}, False, "no_progress"),
    ],
    ids=["to-the-end", "server-ignores-older-than"],
)
async def test_a_walk_says_how_it_ends_while_its_last_page_is_handled(
    knobs: dict[str, Any], reached_end: bool, reason: str
) -> None:
    # So that "backfill complete" or the newest cursor commits with the last page itself.
    server = fakes.FeedServer([fakes.message(i) for i in fakes.ids(45)], **knobs)
    async with fakes.make_client(server) as client:
        walk = client.iter_feed("in_group", 123412865024)
        endings = [(walk.stop_reason, walk.reached_end) async for _ in walk]
    assert endings[:-1] == [(None, False)] * (len(endings) - 1)
    assert endings[-1] == (reason, reached_end)


# -- a feed empty at first ----------------------------------------------------------------------


async def test_a_community_empty_at_its_first_sync_gets_its_later_posts(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    network = sim.network
    outsider = list(network.users.values())[-1]
    group = network.add_group(
        "Brand New Community", member_ids=[network.current_user_id, outsider.id]
    )
    await _follow_group(db, group.id, "Brand New Community")
    await worker.run_once()
    first = await _feed(db, "GROUP", group.id)
    assert first.newest_seen_id is None
    assert first.last_error is None

    post = network.add_message(outsider.id, "First post in the new community", group_id=group.id)
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    assert await rows(db, "SELECT body FROM post WHERE external_id = :e", e=post.id) == [
        (post.body,)
    ]
    feed = await _feed(db, "GROUP", group.id)
    assert feed.newest_seen_id == post.id
    assert feed.backfill_complete

    # From now on it is polled like any other feed.
    later = network.add_message(outsider.id, "And a second one", group_id=group.id)
    await worker.run_once()
    assert await rows(db, "SELECT 1 FROM post WHERE external_id = :e", e=later.id) == [(1,)]


# -- deletions, and deletions that were not ------------------------------------------------------


async def test_a_stray_404_on_a_thread_deletes_nothing(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    worker.config.freshness = EVERY_THREAD_EVERY_PASS  # the demo's threads: re-read them
    await worker.run_once()
    [(live,)] = await rows(db, LIVE)
    # One thread read answers 404 although the thread is there (a blip, or lost access).
    sim.config.update(
        {"fault_path_prefix": "/messages/in_thread", "error_next": 1, "error_statuses": [404]}
    )
    faulted = await worker.run_once()
    assert faulted.status == "PARTIAL", faulted  # the thread was not read: said, not hidden
    assert await rows(db, LIVE) == [(live,)]
    again = await worker.run_once()
    assert again.status == "SUCCEEDED", again
    assert await rows(db, LIVE) == [(live,)] == [(len(_visible(sim)),)]


async def test_a_deleted_thread_is_marked_deleted_whole(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    worker.config.freshness = EVERY_THREAD_EVERY_PASS
    await worker.run_once()
    network = sim.network
    newest = max(_visible(sim).values(), key=lambda m: m.created_at)  # its thread is re-read
    thread = [m.id for m in network.messages.values() if m.thread_id == newest.thread_id]
    network.delete(newest.thread_id)  # the starter: the whole thread goes
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    deleted = await rows(
        db, "SELECT deleted_at IS NOT NULL FROM post WHERE external_id = ANY(:ids)", ids=thread
    )
    assert deleted
    assert all(d for (d,) in deleted)
    assert await rows(db, LIVE) == [(len(_visible(sim)),)]
    # The thread's 404 was confirmed by the starter's own before anything was marked.
    assert sim.state.log.count(path_prefix=f"/api/v1/messages/{newest.thread_id}") >= 1


async def test_a_post_read_alive_after_its_tombstone_is_live_again(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    worker.config.freshness = EVERY_THREAD_EVERY_PASS
    await worker.run_once()
    reply = max((m for m in _visible(sim).values() if not m.is_starter), key=lambda m: m.created_at)
    # Marked deleted by an earlier pass (lost access for a while, say); the microblog serves
    # it again.
    async with db.unit_of_work() as session:
        await mirror.mark_deleted(session, [reply.id], datetime.now(UTC) - timedelta(minutes=1))
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    assert await rows(db, "SELECT deleted_at FROM post WHERE external_id = :e", e=reply.id) == [
        (None,)
    ]
    assert await rows(db, LIVE) == [(len(_visible(sim)),)]


async def test_a_read_older_than_a_tombstone_does_not_undo_it(
    mirrored: tuple[Database, Worker],
) -> None:
    db, worker = mirrored
    await worker.run_once()
    [post] = await rows(
        db,
        "SELECT external_id, author_id, body, created_at, synced_at FROM post"
        " WHERE thread_starter_id IS NULL ORDER BY id LIMIT 1",
    )
    read = ingest.IncomingPost(
        external_id=post.external_id,
        author_id=post.author_id,
        body=post.body,
        created_at=post.created_at,
        reply_count=None,
        share_count=None,
    )
    tombstone = post.synced_at + timedelta(minutes=10)
    async with db.unit_of_work() as session:
        await mirror.mark_deleted(session, [post.external_id], tombstone)

    async def upsert_read_at(moment: datetime) -> Any:
        async with db.unit_of_work() as session:
            await ingest.upsert_posts(session, [read], moment)
        [(deleted_at,)] = await rows(
            db, "SELECT deleted_at FROM post WHERE external_id = :e", e=post.external_id
        )
        return deleted_at

    # Read alive before the deletion was seen (a replayed page): the deletion stands.
    assert await upsert_read_at(tombstone - timedelta(minutes=5)) == tombstone
    assert await upsert_read_at(tombstone) == tombstone
    # Read alive after it: the post is back.
    assert await upsert_read_at(tombstone + timedelta(minutes=5)) is None


# -- replies whose thread the mirror does not hold -----------------------------------------------


def _revived_old_threads(sim: Sim, count: int) -> list[Message]:
    """``count`` threads in a group nobody follows, too old to mirror, each getting a new
    reply on a campaign topic: the topic feed brings replies whose starters are not stored."""
    network = sim.network
    colleagues = list(network.users.values())[-5:]
    group = network.add_group(
        "Old Untracked",
        member_ids=[network.current_user_id, *(u.id for u in colleagues)],
        at=NOW - timedelta(days=400),
    )
    starters = [
        network.add_message(
            colleagues[i % 5].id,
            f"old thread {i}",
            group_id=group.id,
            at=NOW - timedelta(days=200, minutes=-i),
        )
        for i in range(count)
    ]
    return [
        network.add_message(
            colleagues[(i + 1) % 5].id, f"revived {i} #managing", replied_to_id=s.id
        )
        for i, s in enumerate(starters)
    ]


async def _missing(db: Database, messages: list[Message]) -> list[int]:
    have = {e for (e,) in await rows(db, "SELECT external_id FROM post")}
    return [m.id for m in messages if m.id not in have]


async def test_replies_to_more_threads_than_a_pass_settles_all_arrive(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    await worker.run_once()
    replies = _revived_old_threads(sim, 60)  # more threads than one settling walks (50)
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    assert await _missing(db, replies) == []
    for reply in replies:
        [(starter,)] = await rows(
            db,
            "SELECT s.external_id FROM post p JOIN post s ON s.id = p.thread_starter_id"
            " WHERE p.external_id = :e",
            e=reply.id,
        )
        assert starter == reply.thread_id
    assert await rows(db, "SELECT count(*) FROM sync_feed WHERE kind = 'THREAD'") == [(0,)]


async def test_threads_left_for_later_are_walked_after_a_restart(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    await worker.run_once()
    replies = _revived_old_threads(sim, 6)
    async with db.reading() as session:
        [topic] = [
            f
            for f in await sync_state.list_feeds(session, [SyncFeedKind.TOPIC])
            if f.name == "#managing"
        ]

    async def job(settle_threads: int) -> Mirror:
        async with db.unit_of_work() as session:
            run_id = await sync_runs.start_run(session, "TEST", datetime.now(UTC))
        return Mirror(
            db, worker.client, run_id, lambda: datetime.now(UTC), settle_threads=settle_threads
        )

    first = await job(settle_threads=2)
    await first.sync_feed(topic)
    # The feed's cursor has moved past all six replies; four threads wait, counted and kept.
    assert first.stats.deferred_threads == 4
    missing = await _missing(db, replies)
    assert len(missing) == 4
    owed = await rows(db, "SELECT external_id FROM sync_feed WHERE kind = 'THREAD'")
    assert {e for (e,) in owed} == {r.thread_id for r in replies if r.id in missing}

    # The process dies (its memory with it); the next one walks what is owed.
    second = await job(settle_threads=50)
    await second.settle_held()
    assert await _missing(db, replies) == []
    assert second.stats.deferred_threads == 0
    assert await rows(db, "SELECT count(*) FROM sync_feed WHERE kind = 'THREAD'") == [(0,)]


# -- walks the server cuts short -----------------------------------------------------------------


async def test_a_thread_walk_that_makes_no_progress_deletes_nothing(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    network = sim.network
    lead = network.current_user_id
    starter = network.add_message(lead, "big thread", group_id=_group(sim).id)
    for i in range(24):  # more than a page
        network.add_message(lead, f"reply {i}", replied_to_id=starter.id)
    worker.config.freshness = EVERY_THREAD_EVERY_PASS
    await worker.run_once()
    thread = (
        "SELECT count(*) FROM post p LEFT JOIN post s ON s.id = p.thread_starter_id"
        " WHERE (p.external_id = :e OR s.external_id = :e) AND p.deleted_at IS NULL"
    )
    assert await rows(db, thread, e=starter.id) == [(25,)]

    _ignore_older_than(worker, "in_thread", starter.id)
    summary = await worker.run_once()
    assert summary.status == "PARTIAL", summary  # said, not reported as a clean success
    assert summary.stats.deleted == 0
    assert await rows(db, thread, e=starter.id) == [(25,)]


async def test_a_backfill_that_makes_no_progress_is_not_complete(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    network = sim.network
    outsider = list(network.users.values())[-1]
    group = network.add_group("Busy Corner", member_ids=[network.current_user_id, outsider.id])
    posts = [network.add_message(outsider.id, f"post {i}", group_id=group.id) for i in range(25)]
    await _follow_group(db, group.id, "Busy Corner")
    _ignore_older_than(worker, "in_group", group.id)
    summary = await worker.run_once()
    assert summary.status == "PARTIAL", summary
    assert "Busy Corner" in summary.stats.failed_feeds
    feed = await _feed(db, "GROUP", group.id)
    assert not feed.backfill_complete
    assert "IncompleteWalk" in feed.last_error
    assert len(await _missing(db, posts)) == 5  # the page read is kept

    _mend(worker)  # the server mends
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    assert await _missing(db, posts) == []
    feed = await _feed(db, "GROUP", group.id)
    assert feed.backfill_complete
    assert feed.last_error is None


# -- catch-up page by page -----------------------------------------------------------------------


def _fail_catch_up_after_the_first_page(worker: Worker, group_id: int) -> None:
    client = worker.client
    original = client.feed

    async def feed(k: str, i: int, *, older_than: Any = None, newer_than: Any = None, **kw: Any):
        if k == "in_group" and i == group_id and newer_than is not None and older_than is not None:
            raise MicroblogUnavailable("503 after 5 attempts")
        return await original(k, i, older_than=older_than, newer_than=newer_than, **kw)

    client.feed = feed


async def _mirrored_then_new_posts(
    sim: Sim, worker: Worker, n: int
) -> tuple[Any, Any, list[Message]]:
    """A full pass, then ``n`` new posts in a tracked group (by a colleague who joins it)."""
    await worker.run_once()
    group = _group(sim)
    outsider = list(sim.network.users.values())[-1]
    group.member_ids.add(outsider.id)
    new = [sim.network.add_message(outsider.id, f"new {i}", group_id=group.id) for i in range(n)]
    return group, outsider, new


async def test_a_catch_up_failing_half_way_keeps_what_it_read_and_skips_nothing(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    group, outsider, new = await _mirrored_then_new_posts(sim, worker, 30)
    network = sim.network
    cursor = (await _feed(db, "GROUP", group.id)).newest_seen_id

    _fail_catch_up_after_the_first_page(worker, group.id)
    summary = await worker.run_once()
    assert summary.status == "PARTIAL", summary
    # The first page (the 20 newest) is kept; the cursor stays, so the 10 older are not skipped.
    assert await _missing(db, new) == [m.id for m in new[:10]]
    feed = await _feed(db, "GROUP", group.id)
    assert feed.newest_seen_id == cursor
    assert "MicroblogUnavailable" in feed.last_error

    # Still failing: what is new keeps arriving all the same.
    newer = network.add_message(outsider.id, "newer still", group_id=group.id)
    await worker.run_once()
    assert await _missing(db, [newer]) == []

    _mend(worker)
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    assert await _missing(db, new) == []
    feed = await _feed(db, "GROUP", group.id)
    assert feed.newest_seen_id == newer.id
    assert feed.last_error is None
    [(dupes,)] = await rows(db, "SELECT count(*) - count(DISTINCT external_id) FROM post")
    assert dupes == 0


async def test_a_crash_half_way_through_a_catch_up_resumes_without_loss(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    group, _, new = await _mirrored_then_new_posts(sim, worker, 45)
    original = worker.client.feed
    calls = 0

    async def dies_on_the_third_page(k: str, i: int, **kw: Any) -> Any:
        nonlocal calls
        if k == "in_group" and i == group.id and kw.get("newer_than") is not None:
            calls += 1
            if calls == 3:
                raise RuntimeError("killed")
        return await original(k, i, **kw)

    worker.client.feed = dies_on_the_third_page
    with pytest.raises(RuntimeError):
        await worker.run_once()
    assert len(await _missing(db, new)) == 5  # two pages in, the cursor where it was

    _mend(worker)
    summary = await worker.run_once()
    assert summary.status == "SUCCEEDED", summary
    assert await _missing(db, new) == []
    assert (await _feed(db, "GROUP", group.id)).newest_seen_id == new[-1].id


async def test_a_thread_whose_count_drifts_is_not_walked_again_every_pass(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    """The microblog's reply counts drift from what can be read: a thread walked in full that
    still reports more replies is walked again only when its count changes, and its starter
    counts the replies the walk read, not the drifting figure."""
    db, worker = mirrored
    network = sim.network
    thread_id = next(
        m.thread_id
        for m in _visible(sim).values()
        if not m.is_starter  # type: ignore[attr-defined]
    )
    network.count_drift[thread_id] = 3  # stats.updates says three more than anyone can read
    path = f"/api/v1/messages/in_thread/{thread_id}"

    await worker.run_once()
    walks = sim.state.log.count(path_prefix=path)
    assert walks >= 1
    [(reported, stored)] = await rows(
        db,
        "SELECT s.reply_count, (SELECT count(*) FROM post r WHERE r.thread_starter_id = s.id)"
        " FROM post s WHERE s.external_id = :e",
        e=thread_id,
    )
    assert reported == stored  # metrics.replies agrees with replies.totalCount

    await worker.run_once()
    await worker.run_once()
    assert sim.state.log.count(path_prefix=path) == walks

    # A new reply changes the count: the thread is worth walking again.
    starter = network.messages[thread_id]
    network.add_message(starter.sender_id, "One more thought", replied_to_id=thread_id)
    network.count_drift[thread_id] = 4
    await worker.run_once()
    assert sim.state.log.count(path_prefix=path) > walks
