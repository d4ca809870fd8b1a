"""A large synthetic network for tests and benchmarks.

Posts are ``PostRow``s written through the one write path for posts
(``api.db.repositories.posts_write``), as a live page's or an export's are, so generated posts
look to every query like mirrored ones; the set-based statements take 100k rows in seconds.
People, groups and the histories a mirror would have gathered go through
``api.db.repositories.generated``.  Everything happens in one transaction.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import classification, generated, posts_write
from api.db.session import Database
from api.domain.post_rows import Classifier, post_row

DAYS = 120
FALLBACK_TAGS = ["leadership", "managing", "change", "engagement"]
CHATTER_TAGS = ["mondaymotivation", "teamwork", "learning"]  # tags no campaign runs
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emeka",
    "Fatima",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Marta",
    "Nils",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
]
LAST = [
    "Adams",
    "Brandt",
    "Costa",
    "Dubois",
    "Eze",
    "Fischer",
    "García",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
]
TITLES = [
    "Team Lead",
    "Engineer",
    "Analyst",
    "Sales Manager",
    "HR Partner",
    "Designer",
    "Project Manager",
    "Director",
    "Consultant",
    "Learning Specialist",
]
DEPARTMENTS = [
    "Engineering",
    "Sales",
    "Finance",
    "HR",
    "Marketing",
    "Operations",
    "Legal",
    "Learning & Development",
    "Customer Success",
]
GROUP_WORDS = [
    "Engagement",
    "Social Media at Work",
    "New Managers",
    "Leading Change",
    "Coaching Circle",
    "Remote Teams",
    "Book Club",
]
VERBS = [
    "recognise",
    "coach",
    "thank",
    "listen to",
    "delegate to",
    "stretch",
    "involve",
    "check in with",
    "give feedback to",
]
OBJECTS = [
    "your team",
    "a new starter",
    "remote colleagues",
    "quiet people",
    "your peers",
    "the whole department",
    "your manager",
]
WHEN = [
    "every week",
    "after a big win",
    "before a change lands",
    "in one-to-ones",
    "on Monday mornings",
    "when things go wrong",
    "during busy periods",
]
OPENERS = [
    "Great session today on how to",
    "Trying something new: we",
    "Reminder that we all",
    "Loved hearing how teams",
    "This week I want to",
]
QUOTES = [
    (
        "Nobody is perfect, and leaders who admit it are trusted more.",
        "In Praise of the Incomplete Leader",
    ),
    ("Recognition is most powerful when it is specific and timely.", "The Carrot Principle"),
    ("Sensemaking, relating, visioning and inventing: no one is great at all four.", "HBR"),
    ("Engaged managers make engaged teams, one conversation at a time.", "Podcast episode 3"),
]
REPLIES = [
    "Thanks for sharing!",
    "Great tip, trying this tomorrow.",
    "Agreed, this works.",
    "We did this last quarter and it made a difference.",
    "Love this.",
    "Where can I find more on this?",
    "Does this work for remote teams too?",
]
OTHER_LINKS = ["https://example.com/blog/{}", "https://news.example.org/articles/{}"]


async def generate(
    url: str, *, people: int, posts: int, seed: int = 1, now: datetime | None = None
) -> dict[str, int]:
    """Add ``people`` persons and ``posts`` posts (70% starters, 30% replies) to a migrated DB.

    Deterministic for a seed and a given database content (topics, resources, managers);
    ``now`` anchors the ~120 days of history (default: the current time).
    """
    if people < 0 or posts < 0:
        raise ValueError("people and posts must not be negative")
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    db = Database.connect(url, pool_size=1)
    try:
        async with db.unit_of_work() as session:
            await generated.lock(session)
            counts = await _generate(session, rng, people, posts, now)
        async with db.unit_of_work() as session:
            await generated.analyze(session)
        return counts
    finally:
        await db.dispose()


async def _generate(
    session: AsyncSession, rng: random.Random, people: int, posts: int, now: datetime
) -> dict[str, int]:
    context = await classification.classifier(session)
    resources = await generated.resources(session)

    first_ext = await generated.next_external_id(session, "person")
    persons, follower_rows = _people(rng, range(first_ext, first_ext + people), now)
    await generated.insert_people(session, persons, now)
    await generated.insert_follower_history(session, follower_rows)

    n_groups = max(3, people // 500)
    first_ext = await generated.next_external_id(session, "microblog_group")
    groups = [
        (
            ext,
            f"{GROUP_WORDS[i % len(GROUP_WORDS)]} {ext}",
            "A generated group.",
            "PRIVATE" if rng.random() < 0.2 else "PUBLIC",
            rng.randint(5, max(5, people)),
            f"https://www.yammer.com/example.com/groups/{ext}",
            rng.random() < 0.5,
        )
        for i, ext in enumerate(range(first_ext, first_ext + n_groups))
    ]
    await generated.insert_groups(session, groups, now)

    authors = [p[0] for p in persons] or await generated.person_external_ids(session)
    if posts and not authors:
        raise ValueError("posts need authors: generate people too, or load some first")
    group_ids = [g[0] for g in groups]
    stats = await _posts(session, rng, posts, now, authors, group_ids, context, resources)
    return {
        "people": len(persons),
        "groups": len(groups),
        "follower_snapshots": len(follower_rows),
        **stats,
    }


def _people(
    rng: random.Random, external_ids: range, now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    persons, snapshots = [], []
    for ext in external_ids:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        followers = min(int(rng.paretovariate(1.3) * 4) - 4, 5000)
        email = _ascii(f"{first}.{last}.{ext}@example.com").lower()  # ext keeps it unique
        persons.append(
            (
                ext,
                f"{first} {last}",
                email,
                rng.choice(TITLES),
                rng.choice(DEPARTMENTS),
                f"https://www.yammer.com/example.com/users/{ext}",
                followers,
                rng.randint(0, 200),
            )
        )
        # History rising to today's count, appended only when the count changed.
        days = sorted(rng.sample(range(1, DAYS), rng.randint(1, 4)), reverse=True)
        counts = [*sorted(rng.randint(followers // 2, followers) for _ in days[1:]), followers]
        last_count = None
        for day, count in zip(days, counts, strict=True):
            if count != last_count:
                snapshots.append((ext, now - timedelta(days=day), count))
                last_count = count
    return persons, snapshots


def _ascii(value: str) -> str:
    # Mail systems still choke on non-ASCII local parts; names keep their accents.
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()


async def _posts(
    session: AsyncSession,
    rng: random.Random,
    n: int,
    now: datetime,
    authors: list[int],
    group_ids: list[int],
    context: Classifier,
    resources: list[tuple[str, str]],
) -> dict[str, int]:
    """``n`` posts by ``authors`` (microblog ids), written as one observation at ``now``."""
    managers, topics = sorted(context.managers), sorted(context.campaign_tags)
    n_start = n - n * 3 // 10
    n_reply = n - n_start
    # Plan: when each post happens and which thread it belongs to (starters are 0..n_start-1).
    times = [now - timedelta(seconds=rng.uniform(3600, DAYS * 86400)) for _ in range(n_start)]
    thread = list(range(n_start))
    if n_reply:
        # Popularity is heavy-tailed: a few threads draw most of the replies.
        weights = list(accumulate(rng.paretovariate(1.2) for _ in range(n_start)))
        thread += rng.choices(range(n_start), cum_weights=weights, k=n_reply)
    for j in range(n_start, n):
        gap = timedelta(seconds=60 + rng.expovariate(1 / 21600))
        times.append(min(times[thread[j]] + gap, now))
    in_thread: dict[int, list[int]] = defaultdict(list)
    for j in sorted(range(n_start, n), key=times.__getitem__):
        in_thread[thread[j]].append(j)
    replied_to = list(range(n))  # a starter "answers" itself; replaced below for replies
    # Each reply answers the starter or a reply before it in the same thread.
    for start, later in in_thread.items():
        for k, j in enumerate(later):
            replied_to[j] = start if k == 0 or rng.random() < 0.6 else later[rng.randrange(k)]

    # External ids follow time, as the microblog's do: a starter precedes its replies (and the
    # write path gives ids in external id order).
    first_ext = await generated.next_external_id(session, "post")
    rank = [0] * n
    for position, j in enumerate(sorted(range(n), key=times.__getitem__)):
        rank[j] = position

    tags = topics or FALLBACK_TAGS
    rows, history = [], []
    group_of: list[int | None] = []
    for j in range(n):
        ext, starter = first_ext + rank[j], thread[j]
        is_starter = j < n_start
        if is_starter:
            # Some starters come from current topic managers, so TIPs exist when managers do.
            by_manager = managers and rng.random() < 0.05
            author = rng.choice(managers) if by_manager else _author(rng, authors)
            group_of.append(rng.choice(group_ids) if rng.random() < 0.85 else None)
            body = _starter_body(rng, tags, resources)
            likes, replies = int(rng.paretovariate(1.4) * 2) - 2, len(in_thread.get(j, ()))
            message_type = "announcement" if rng.random() < 0.01 else "update"
        else:
            author, body = _author(rng, authors), _reply_body(rng, tags)
            likes, replies, message_type = int(rng.paretovariate(2.0)) - 1, 0, "update"
        shares = rng.randint(1, 5) if is_starter and rng.random() < 0.1 else 0
        rows.append(
            post_row(
                context,
                external_id=ext,
                sender_external_id=author,
                body=body,
                created_at=times[j],
                thread_external_id=first_ext + rank[starter],
                replied_to_external_id=None if is_starter else first_ext + rank[replied_to[j]],
                group_external_id=group_of[starter],
                web_url=f"https://www.yammer.com/example.com/messages/{ext}",
                message_type=message_type,
                like_count=likes,
                reply_count=replies,
                share_count=shares,
            )
        )
        if is_starter:
            history += _metric_snapshots(
                rng,
                ext,
                times[j],
                now,
                [times[r] for r in in_thread.get(j, ())],
                (likes, replies, shares),
            )

    # Written as observed now (a snapshot of today's figures each), then the earlier
    # observations a mirror running all along would have made.
    written = await posts_write.write_posts(session, rows, now)
    await generated.insert_metric_history(session, history)
    return {
        "posts": n,
        "starters": n_start,
        "replies": n_reply,
        "hashtags": sum(len(r.hashtags) for r in rows),
        "resource_links": sum(len(context.resource_urls.intersection(r.links)) for r in rows),
        "metric_snapshots": len(written.ids) + len(history),  # today's for each, and earlier
    }


def _author(rng: random.Random, authors: list[int]) -> int:
    # Squaring skews towards the front of the list: a few people write much of the content.
    return authors[int(len(authors) * rng.random() ** 2)]


def _tag_words(rng: random.Random, tags: list[str], p: float) -> str:
    if rng.random() >= p:
        return ""
    pool = tags + CHATTER_TAGS if rng.random() < 0.2 else tags
    chosen = rng.sample(pool, min(len(pool), rng.randint(1, 2)))
    # Mixed case on purpose: stored hashtags must come out lower-cased.
    return " " + " ".join("#" + (t.capitalize() if rng.random() < 0.3 else t) for t in chosen)


def _starter_body(rng: random.Random, tags: list[str], resources: list[tuple[str, str]]) -> str:
    roll, doing = rng.random(), f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}"
    if roll < 0.3:
        body = f"Tip: {doing}."
    elif roll < 0.45:
        quote, source = rng.choice(QUOTES)
        body = f"\u201c{quote}\u201d \u2014 {source}"
    elif roll < 0.6:
        body = f"How do you {doing}?"
    else:
        body = f"{rng.choice(OPENERS)} {doing}."
    if resources and rng.random() < 0.15:
        link = rng.choice(resources)[0]
        if rng.random() < 0.5:  # tracking parameters must not defeat matching
            link += ("&" if "?" in link else "?") + "utm_source=microblog"
        body += f" {link}"
    elif rng.random() < 0.05:
        body += " " + rng.choice(OTHER_LINKS).format(rng.randint(1, 9999))
    return body + _tag_words(rng, tags, 0.75)


def _reply_body(rng: random.Random, tags: list[str]) -> str:
    return rng.choice(REPLIES) + _tag_words(rng, tags, 0.2)


def _metric_snapshots(
    rng: random.Random,
    external_id: int,
    created: datetime,
    now: datetime,
    reply_times: list[datetime],
    final: tuple[int, int, int],
) -> list[tuple[Any, ...]]:
    """An early observation, where it differs from today's (which the write path records)."""
    seen = created + (now - created) * rng.uniform(0.05, 0.5)
    early = (int(final[0] * rng.random()), bisect_left(reply_times, seen), 0)
    return [(external_id, seen, *early)] if early != final else []
