"""A large synthetic network for tests and benchmarks, bulk-loaded with COPY.

Rows go in through asyncpg's binary COPY rather than the ingest repository: 100k posts through
INSERT .. RETURNING take minutes, COPY takes seconds.  Kinds, hashtags and resource links are
still derived with api.domain.text exactly as ingest derives them, so generated posts look
to every query like mirrored ones.  Everything happens in one transaction.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

import asyncpg

from api.db.session import asyncpg_connect_args
from api.domain import text

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

PERSON_COLUMNS = [
    "id",
    "external_id",
    "full_name",
    "email",
    "job_title",
    "department",
    "web_url",
    "follower_count",
    "following_count",
]
GROUP_COLUMNS = [
    "id",
    "external_id",
    "name",
    "description",
    "privacy",
    "member_count",
    "web_url",
    "joined",
]
POST_COLUMNS = [
    "id",
    "external_id",
    "thread_starter_id",
    "replied_to_id",
    "author_id",
    "group_id",
    "body",
    "web_url",
    "created_at",
    "message_type",
    "like_count",
    "reply_count",
    "share_count",
    "kind",
]


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
    conn = await asyncpg.connect(**asyncpg_connect_args(url))
    try:
        async with conn.transaction():
            # Two generators at once would pick the same external ids; let one wait.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('campaign-generator'))")
            counts = await _generate(conn, rng, people, posts, now)
        # Fresh statistics: autovacuum may take a while to notice a bulk load, and until it
        # does the planner guesses from an empty table.
        await conn.execute("ANALYZE")
        return counts
    finally:
        await conn.close()


async def _generate(
    conn: asyncpg.Connection, rng: random.Random, people: int, posts: int, now: datetime
) -> dict[str, int]:
    topics = [r[0] for r in await conn.fetch("SELECT hashtag FROM topic ORDER BY hashtag")]
    resources = await conn.fetch("SELECT id, url, normalized_url FROM resource ORDER BY id")
    managers = [
        r[0]
        for r in await conn.fetch(
            "SELECT DISTINCT person_id FROM topic_manager"
            " WHERE until IS NULL OR until > current_date ORDER BY person_id"
        )
    ]

    person_ids = await _reserve(conn, "person", people)
    first_ext = await _next_external_id(conn, "person")
    persons, follower_rows = _people(rng, person_ids, first_ext, now)
    await conn.copy_records_to_table("person", records=persons, columns=PERSON_COLUMNS)
    await conn.copy_records_to_table(
        "follower_snapshot",
        records=follower_rows,
        columns=["person_id", "observed_at", "followers"],
    )

    group_ids = await _reserve(conn, "microblog_group", max(3, people // 500))
    first_ext = await _next_external_id(conn, "microblog_group")
    groups = [
        (
            gid,
            first_ext + i,
            f"{GROUP_WORDS[i % len(GROUP_WORDS)]} {first_ext + i}",
            "A generated group.",
            "PRIVATE" if rng.random() < 0.2 else "PUBLIC",
            rng.randint(5, max(5, people)),
            f"https://www.yammer.com/example.com/groups/{first_ext + i}",
            rng.random() < 0.5,
        )
        for i, gid in enumerate(group_ids)
    ]
    await conn.copy_records_to_table("microblog_group", records=groups, columns=GROUP_COLUMNS)

    authors = person_ids or [r[0] for r in await conn.fetch("SELECT id FROM person ORDER BY id")]
    if posts and not authors:
        raise ValueError("posts need authors: generate people too, or load some first")
    stats = await _posts(conn, rng, posts, now, authors, group_ids, managers, topics, resources)
    return {
        "people": len(persons),
        "groups": len(groups),
        "follower_snapshots": len(follower_rows),
        **stats,
    }


async def _reserve(conn: asyncpg.Connection, table: str, n: int) -> list[int]:
    """Take n ids from the table's identity sequence: COPY cannot return the ids it assigns."""
    rows = await conn.fetch(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)", n
    )
    return sorted(r[0] for r in rows)


async def _next_external_id(conn: asyncpg.Connection, table: str) -> int:
    # After the largest one, so the generator can run on top of demo or earlier generated data.
    return int(await conn.fetchval(f"SELECT coalesce(max(external_id), 0) + 1 FROM {table}"))


def _people(
    rng: random.Random, ids: list[int], first_ext: int, now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    persons, snapshots = [], []
    for i, pid in enumerate(ids):
        ext = first_ext + i
        first, last = rng.choice(FIRST), rng.choice(LAST)
        followers = min(int(rng.paretovariate(1.3) * 4) - 4, 5000)
        email = _ascii(f"{first}.{last}.{ext}@example.com").lower()  # ext keeps it unique
        persons.append(
            (
                pid,
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
                snapshots.append((pid, now - timedelta(days=day), count))
                last_count = count
    return persons, snapshots


def _ascii(value: str) -> str:
    # Mail systems still choke on non-ASCII local parts; names keep their accents.
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()


async def _posts(
    conn: asyncpg.Connection,
    rng: random.Random,
    n: int,
    now: datetime,
    authors: list[int],
    group_ids: list[int],
    managers: list[int],
    topics: list[str],
    resources: list[Any],
) -> dict[str, int]:
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

    # Ids and external ids follow time, as the microblog's do: a starter precedes its replies.
    order = sorted(range(n), key=times.__getitem__)
    ids = await _reserve(conn, "post", n)
    first_ext = await _next_external_id(conn, "post")
    rank = [0] * n
    for position, j in enumerate(order):
        rank[j] = position

    tags = topics or FALLBACK_TAGS
    resource_by_url = {r["normalized_url"]: r["id"] for r in resources}
    campaign_tags, manager_set = set(topics), set(managers)
    rows, hashtag_rows, link_rows, metric_rows = [], [], [], []
    group_of: list[int | None] = []
    for j in range(n):
        post_id, ext, starter = ids[rank[j]], first_ext + rank[j], thread[j]
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
        post_tags = text.hashtags(body)
        hashtag_rows += [(post_id, tag) for tag in post_tags]
        matched = [resource_by_url[u] for u in text.normalised_links(body) if u in resource_by_url]
        link_rows += [(post_id, rid, "URL") for rid in dict.fromkeys(matched)]
        kind = text.classify(
            body,
            links_resource=bool(matched),
            by_topic_manager=author in manager_set,
            on_campaign_topic=not campaign_tags.isdisjoint(post_tags),
            message_type=message_type,
        )
        rows.append(
            (
                post_id,
                ext,
                None if is_starter else ids[rank[starter]],
                None if is_starter else ids[rank[replied_to[j]]],
                author,
                group_of[starter],
                body,
                f"https://www.yammer.com/example.com/messages/{ext}",
                times[j],
                message_type,
                likes,
                replies,
                shares,
                kind.name,
            )
        )
        if is_starter:
            metric_rows += _metric_snapshots(
                rng,
                post_id,
                times[j],
                now,
                [times[r] for r in in_thread.get(j, ())],
                (likes, replies, shares),
            )

    await conn.copy_records_to_table("post", records=rows, columns=POST_COLUMNS)
    await conn.copy_records_to_table(
        "post_hashtag", records=hashtag_rows, columns=["post_id", "hashtag"]
    )
    await conn.copy_records_to_table(
        "post_resource", records=link_rows, columns=["post_id", "resource_id", "matched_by"]
    )
    await conn.copy_records_to_table(
        "post_metrics_snapshot",
        records=metric_rows,
        columns=["post_id", "observed_at", "likes", "replies", "shares"],
    )
    return {
        "posts": n,
        "starters": n_start,
        "replies": n_reply,
        "hashtags": len(hashtag_rows),
        "resource_links": len(link_rows),
        "metric_snapshots": len(metric_rows),
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


def _starter_body(rng: random.Random, tags: list[str], resources: list[Any]) -> str:
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
        link = rng.choice(resources)["url"]
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
    post_id: int,
    created: datetime,
    now: datetime,
    reply_times: list[datetime],
    final: tuple[int, int, int],
) -> list[tuple[Any, ...]]:
    """An early observation and today's, the latter only when something changed since."""
    seen = created + (now - created) * rng.uniform(0.05, 0.5)
    early = (int(final[0] * rng.random()), bisect_left(reply_times, seen), 0)
    rows = [(post_id, seen, *early)]
    if early != final:
        rows.append((post_id, now, *final))
    return rows
