"""The freshness policy: every live thread is read again on a schedule that decays with its
age, within a share of the rate budget, and a restart keeps the schedule.

The worker runs on virtual time: its clock and its rate budget's clock are one counter the
test moves forward (budget waits advance it too), so a day of passes takes seconds and never
sleeps real time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.db.session import Database
from api.domain.freshness import FreshnessPolicy
from api.domain.text import hashtags
from api.simulator.model import Message
from api.sync.budget import RateBudget
from api.sync.errors import MicroblogUnavailable
from api.sync.scheduler import Worker, WorkerConfig
from tests.integration.sync.conftest import Sim, make_client, rows, set_up_campaign
from tests.integration.sync.test_worker import _visible

POLL = 60.0
POLICY = FreshnessPolicy()  # the defaults: every pass / hourly / daily; half of 10 per 30 s
_THREAD_READ = re.compile(r"^/api/v1/messages/(in_thread/)?\d+(\.json)?$")


@dataclass
class VirtualTime:
    start: datetime
    seconds: float = 0.0

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.seconds += max(seconds, 0.0)
        await asyncio.sleep(0)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def advance(self, delta: timedelta) -> None:
        self.seconds += delta.total_seconds()


@dataclass
class Run:
    db: Database
    sim: Sim
    time: VirtualTime
    worker: Worker

    async def one_pass(self) -> int:
        """One pass; the requests it spent reading threads, as the simulator saw them."""
        before = _thread_reads(self.sim)
        summary = await self.worker.run_once()
        assert summary.status == "SUCCEEDED", summary
        return _thread_reads(self.sim) - before


def _thread_reads(sim: Sim) -> int:
    return sum(1 for r in sim.state.log.records if _THREAD_READ.match(r.path))


def _newest(sim: Sim) -> datetime:
    return max(m.created_at for m in sim.network.messages.values())


@pytest.fixture
async def fifty_days_on(fresh_db: Database, sim: Sim) -> AsyncIterator[Run]:
    """The demo network mirrored by a worker whose clock says its newest post is 50 days old,
    on the microblog's real budget (10 per 30 s, virtual time) and the default policy."""
    time = VirtualTime(_newest(sim) + timedelta(days=50))
    sim.network.clock = time.now
    budget = RateBudget(requests=10, window=30.0, clock=time.monotonic, sleep=time.sleep)
    async with make_client(sim, budget=budget, sleep=time.sleep) as client:
        config = WorkerConfig(poll_interval=POLL, source="simulator", freshness=POLICY)
        worker = Worker(fresh_db, client, config, clock=time.now)
        await set_up_campaign(fresh_db, worker)
        run = Run(fresh_db, sim, time, worker)
        await run.one_pass()  # the first sync: every feed backfilled
        yield run


def _upstream_changes(sim: Sim, at: datetime) -> dict[str, Any]:
    """Likes, deletions, edits and new replies, all in threads weeks old."""
    network = sim.network
    visible = sorted(_visible(sim).values(), key=lambda m: m.id)  # type: ignore[attr-defined]
    starters = [m for m in visible if m.is_starter]
    replies = [m for m in visible if not m.is_starter]
    old_thread = next(s for s in reversed(starters) if any(r.thread_id == s.id for r in replies))
    liked = [starters[0], starters[-1], replies[0], replies[-1]]
    for message in liked:
        network.like(message.id, 7)
    doomed_reply = replies[1]
    network.delete(doomed_reply.id, at=at)
    doomed_thread = next(s for s in starters[2:] if s not in (old_thread, *liked))
    network.delete(doomed_thread.id, at=at)  # the whole thread, replies and all
    network.edit(starters[1].id, "Rewritten weeks later #wellbeing", at=at)
    network.edit(replies[2].id, "Edited reply, no tags now", at=at)
    lead = network.current_user_id
    new_reply = network.add_message(lead, "Still relevant!", replied_to_id=old_thread.id, at=at)
    reply_to_reply = network.add_message(
        max(network.users), "Agreed", replied_to_id=new_reply.id, at=at
    )
    return {"deleted": [doomed_reply.id, doomed_thread.id], "new": [new_reply, reply_to_reply]}


async def _assert_mirror_matches(db: Database, sim: Sim) -> None:
    expected: dict[int, Message] = _visible(sim)  # type: ignore[assignment]
    posts = await rows(
        db,
        "SELECT p.external_id, p.body, p.like_count, p.reply_count, s.external_id AS starter,"
        " r.external_id AS replied_to,"
        " (SELECT count(*) FROM post c WHERE c.thread_starter_id = p.id"
        "  AND c.deleted_at IS NULL) AS mirrored_replies"
        " FROM post p LEFT JOIN post s ON s.id = p.thread_starter_id"
        " LEFT JOIN post r ON r.id = p.replied_to_id WHERE p.deleted_at IS NULL",
    )
    assert {p.external_id for p in posts} == set(expected)
    for post in posts:
        message = expected[post.external_id]
        assert (post.body, post.like_count) == (message.body, len(message.liker_ids)), post
        if message.is_starter:
            replies = sum(1 for m in expected.values() if m.thread_id == message.id) - 1
            # The starter's count, its mirrored replies and the microblog's thread agree.
            assert (post.reply_count, post.mirrored_replies) == (replies, replies), post
        else:
            assert (post.starter, post.replied_to) == (message.thread_id, message.replied_to_id)
    tags = await rows(
        db,
        "SELECT p.external_id, h.hashtag FROM post_hashtag h JOIN post p ON p.id = h.post_id"
        " WHERE p.deleted_at IS NULL",
    )
    mirrored_tags: dict[int, set[str]] = {}
    for external_id, tag in tags:
        mirrored_tags.setdefault(external_id, set()).add(tag)
    for external_id, message in expected.items():
        assert mirrored_tags.get(external_id, set()) == set(hashtags(message.body))


async def test_a_fifty_day_old_network_matches_within_the_longest_tier(
    fifty_days_on: Run,
) -> None:
    run = fifty_days_on
    allowance = POLICY.requests_per_pass(POLL)
    assert allowance == 10  # half of the 20 messages requests a minute allows
    threads = len([m for m in _visible(run.sim).values() if m.is_starter])  # type: ignore[attr-defined]
    spent: list[int] = []
    changed_at = run.time.now()
    _upstream_changes(run.sim, changed_at)

    # Passes an hour apart until the longest tier is nearly over, then a minute apart: the
    # policy owes the mirror's exactness to the schedule, not to passes every minute.
    end = changed_at + POLICY.longest
    while run.time.now() + timedelta(hours=1) < end:
        spent.append(await run.one_pass())
        run.time.advance(timedelta(hours=1))
    passes_to_read_all = -(-threads // allowance) + 1
    run.time.seconds = (end - run.time.start).total_seconds()
    for _ in range(passes_to_read_all):
        last_start = run.time.now()
        spent.append(await run.one_pass())
        run.time.advance(timedelta(seconds=POLL))

    await _assert_mirror_matches(run.db, run.sim)
    assert max(spent) <= allowance, spent
    # A pass lasts what its requests take on the budget: a few minutes past the tier at most.
    assert last_start - end < timedelta(minutes=10)


async def test_new_replies_in_old_threads_are_read_on_the_next_pass(fifty_days_on: Run) -> None:
    """The catch-up shows a new reply, and its page's thread reference a changed count: the
    thread is read at once, so its count and its mirrored replies agree after one pass."""
    run = fifty_days_on
    network = run.sim.network
    old = next(
        m
        for m in _visible(run.sim).values()
        if m.is_starter and m.group_id is not None  # type: ignore[attr-defined]
    )
    network.like(old.id, 5)  # only a read of the thread shows it
    reply = network.add_message(network.current_user_id, "Bumping this", replied_to_id=old.id)
    run.time.advance(timedelta(seconds=POLL))
    await run.one_pass()
    [(likes, replies, mirrored)] = await rows(
        run.db,
        "SELECT p.like_count, p.reply_count, (SELECT count(*) FROM post r"
        " WHERE r.thread_starter_id = p.id AND r.deleted_at IS NULL) FROM post p"
        " WHERE p.external_id = :e",
        e=old.id,
    )
    live = sum(1 for m in _visible(run.sim).values() if m.thread_id == old.id) - 1  # type: ignore[attr-defined]
    assert (likes, replies, mirrored) == (len(old.liker_ids), live, live)
    assert reply.id in {e for (e,) in await rows(run.db, "SELECT external_id FROM post")}


async def test_old_threads_are_not_read_again_before_they_are_due(fifty_days_on: Run) -> None:
    """Threads weeks old are read daily: passes within the day read none of them, and a
    worker started afresh (the schedule is in the database) reads none either."""
    run = fifty_days_on
    # Threads the feeds could not complete (replies no tracked feed carries) were due at
    # once: read within the first passes, as the budget's share allows.
    for _ in range(5):
        run.time.advance(timedelta(seconds=POLL))
        if await run.one_pass() == 0:
            break
    else:
        pytest.fail("threads still read after five passes")
    for _ in range(3):
        run.time.advance(timedelta(seconds=POLL))
        assert await run.one_pass() == 0
    restarted = Worker(run.db, run.worker.client, run.worker.config, clock=run.time.now)
    run.worker = restarted
    run.time.advance(timedelta(hours=6))
    assert await run.one_pass() == 0
    run.time.advance(timedelta(days=1))
    assert await run.one_pass() > 0  # a day on, they are due


async def test_a_thread_that_fails_is_tried_again_on_its_schedule_not_every_pass(
    fifty_days_on: Run,
) -> None:
    run = fifty_days_on
    for _ in range(5):  # the threads the first sync could not complete
        run.time.advance(timedelta(seconds=POLL))
        if await run.one_pass() == 0:
            break
    [(broken,)] = await rows(run.db, "SELECT min(thread_id) FROM sync_thread")
    client = run.worker.client
    original = client.feed

    async def failing(kind: str, feed_id: int, **kw: Any) -> Any:
        if kind == "in_thread" and feed_id == broken:
            raise MicroblogUnavailable("503 after 5 attempts")
        return await original(kind, feed_id, **kw)

    client.feed = failing
    run.time.advance(timedelta(days=1))  # every thread is due
    for _ in range(4):
        await run.worker.run_once()  # PARTIAL: the broken thread fails
        run.time.advance(timedelta(seconds=POLL))
    [(failures, error)] = await rows(
        run.db, "SELECT failures, last_error FROM sync_thread WHERE thread_id = :t", t=broken
    )
    assert failures == 1, "tried once, then left for its tier's interval"
    assert "MicroblogUnavailable" in error
    assert await run.one_pass() == 0  # the others were read; nothing is due

    del client.feed  # mended
    run.time.advance(timedelta(days=1))
    await run.one_pass()
    [(failures, error)] = await rows(
        run.db, "SELECT failures, last_error FROM sync_thread WHERE thread_id = :t", t=broken
    )
    assert (failures, error) == (0, None)
