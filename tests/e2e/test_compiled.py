"""Compiled plans answer exactly as the resolvers do: every contract read operation, every
role, several variable sets, through both paths, on the demo and on a generated network.

Two apps share one database: one with ``compiled=True`` (plans where the compiler covers the
query, the resolvers elsewhere) and one with ``compiled=False`` (the resolvers only).  Their
response bodies must hold the same JSON (``same_json``: members in the same order, numbers
of the same type and value), ``extensions.cost`` included: buckets large and quick to refill
make ``currentlyAvailable`` the same for both. The bytes differ where a plan answered: its
``data`` is PostgreSQL's JSON text as it is (schema/compiled.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from api.app import create_app
from api.auth import create_api_key, issue_token
from api.db.session import Database
from api.domain.enums import Role
from api.seed.generator import generate
from api.settings import Settings
from tests import dbs
from tests.e2e.conftest import SECRET, operation

T = TypeVar("T")
BIG = 10**9
ROLES = ("ADMIN", "MANAGER", "MEMBER", "LMS")
SUBJECTS = {
    "ADMIN": "admin@example.com",
    "MANAGER": "hannah.schmidt@example.com",
    "MEMBER": "priya.raman@example.com",
}


def _settings(url: str, *, compiled: bool) -> Settings:
    budgets: dict[str, Any] = {}
    for role in ROLES:
        budgets[f"query_budget_{role.lower()}"] = BIG
        budgets[f"query_budget_{role.lower()}_restore"] = float(BIG) * 1000
    return Settings(
        environment="test",
        database_url=url,
        jwt_secret=SECRET,
        public_url="http://campaign.test",
        query_cost_max=BIG,
        compiled=compiled,
        # Every request executes: a kept answer (api/response_cache.py) would hide which path
        # answered, and the differential test sends each request to both.
        response_cache_bytes=0,
        **budgets,
    )


def _tagged(text: str) -> Any:
    """JSON with the order of members and the type of numbers kept (an int is not a float)."""
    return json.loads(
        text,
        object_pairs_hook=lambda pairs: ("object", pairs),
        parse_int=lambda s: ("int", int(s)),
        parse_float=lambda s: ("float", float(s)),
    )


def same_json(one: str, other: str) -> bool:
    """Whether two answers hold the same JSON, whatever their spacing and escapes."""
    return bool(_tagged(one) == _tagged(other))


@dataclass
class Paths:
    compiled: httpx.AsyncClient
    resolvers: httpx.AsyncClient
    db: Database
    headers: dict[str, dict[str, str]]
    statements: list[str] = field(default_factory=list)

    async def both(self, document: str, variables: dict[str, Any], role: str) -> Any:
        """Run through both paths; assert equal bodies; the answer."""
        body = {"query": document, "variables": variables}
        fast = await self.compiled.post("/graphql", json=body, headers=self.headers[role])
        slow = await self.resolvers.post("/graphql", json=body, headers=self.headers[role])
        assert fast.status_code == slow.status_code, (role, variables)
        assert same_json(fast.text, slow.text), (role, variables, fast.text[:500], slow.text[:500])
        return slow.json()


async def _app(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as c:
            yield c


async def _paths(url: str) -> AsyncIterator[Paths]:
    fast_db = Database.connect(url, pool_size=3)
    slow_db = Database.connect(url, pool_size=3)
    fast_settings = _settings(url, compiled=True)
    headers = {
        role: {"Authorization": f"Bearer {issue_token(fast_settings, Role(role), subject)}"}
        for role, subject in SUBJECTS.items()
    }
    headers["LMS"] = {"X-API-Key": await create_api_key(fast_db, "lms-compiled", Role.LMS)}
    fast_gen = _app(fast_settings, fast_db)
    slow_gen = _app(_settings(url, compiled=False), slow_db)
    fast, slow = await anext(fast_gen), await anext(slow_gen)
    paths = Paths(compiled=fast, resolvers=slow, db=fast_db, headers=headers)

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        paths.statements.append(statement)

    event.listen(fast_db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield paths
    finally:
        event.remove(fast_db.engine.sync_engine, "before_cursor_execute", count)
        for gen in (fast_gen, slow_gen):
            await gen.aclose()
        await fast_db.dispose()
        await slow_db.dispose()


@pytest.fixture(params=["demo", "generated"])
async def paths(request: pytest.FixtureRequest, demo_url: str) -> AsyncIterator[Paths]:
    if request.param == "generated":
        await generate(demo_url, people=150, posts=1_500, seed=7)
    async for p in _paths(demo_url):
        yield p


def _gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


async def _ids(db: Database, sql: str) -> list[int]:
    async with db.reading() as session:
        return [row[0] for row in await session.execute(sa.text(sql))]


async def _topic_feed(paths: Paths, role: str) -> None:
    document = operation("mobile/TopicFeed.graphql")
    hashtags = await _ids(
        paths.db,
        "SELECT hashtag FROM (SELECT t.hashtag, (SELECT count(*) FROM post_hashtag h "
        "WHERE h.hashtag = t.hashtag) AS n FROM topic t) x ORDER BY n DESC, hashtag LIMIT 3",
    )
    for tag in [*hashtags, "#Leadership", "no-such-topic", "bad tag"]:
        await paths.both(document, {"hashtag": tag}, role)
    busiest = hashtags[0]
    for first in (0, 1, 100, 101, -1, None):
        await paths.both(document, {"hashtag": busiest, "first": first}, role)
    # Every page, deep ones included, through the cursors the compiled path gives out.
    after = None
    for _ in range(40):
        answer = await paths.both(document, {"hashtag": busiest, "first": 7, "after": after}, role)
        posts = ((answer.get("data") or {}).get("topic") or {}).get("posts")
        if not posts or not posts["pageInfo"]["hasNextPage"]:
            break
        after = posts["pageInfo"]["endCursor"]
    for bad in ("", "not-a-cursor", base64.urlsafe_b64encode(b'["x",1]').decode()):
        await paths.both(document, {"hashtag": busiest, "after": bad}, role)


async def _post_detail(paths: Paths, role: str) -> None:
    document = operation("mobile/PostDetail.graphql")
    threads = await _ids(
        paths.db,
        "SELECT thread_starter_id FROM post WHERE thread_starter_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
    )
    lonely = await _ids(
        paths.db,
        "SELECT id FROM post p WHERE thread_starter_id IS NULL AND deleted_at IS NULL AND NOT "
        "EXISTS (SELECT 1 FROM post r WHERE r.thread_starter_id = p.id) ORDER BY id LIMIT 1",
    )
    replies = await _ids(
        paths.db, "SELECT id FROM post WHERE thread_starter_id IS NOT NULL ORDER BY id LIMIT 1"
    )
    deleted = await _ids(paths.db, "SELECT id FROM post WHERE deleted_at IS NOT NULL LIMIT 1")
    others = [
        _gid(kind, pk)
        for kind, table in (
            ("Topic", "topic"),
            ("Person", "person"),
            ("Resource", "resource"),
            ("Group", "microblog_group"),
            ("Campaign", "campaign"),
        )
        for pk in await _ids(paths.db, f"SELECT id FROM {table} ORDER BY id LIMIT 1")
    ]
    ids = [_gid("Post", pk) for pk in [*threads, *lonely, *replies, *deleted, 10**15]]
    for id_ in [*ids, *others, "nope", _gid("Nothing", 1)]:
        answer = await paths.both(document, {"id": id_}, role)
        node = (answer.get("data") or {}).get("node") or {}
        cursor = (node.get("replies") or {}).get("pageInfo", {}).get("endCursor")
        if cursor:
            await paths.both(document, {"id": id_, "repliesAfter": cursor}, role)


async def _resource_links(paths: Paths, role: str) -> None:
    document = operation("lms/ResourceLinks.graphql")
    tags = await _ids(paths.db, "SELECT hashtag FROM topic ORDER BY id LIMIT 4")
    for tag in [*tags, "#LEADERSHIP", "nothing-here", "bad tag"]:
        await paths.both(document, {"hashtag": tag}, role)
    for kinds in (None, [], ["PODCAST_EPISODE"], ["COURSE", "BOOK"], ["PODCAST_SERIES"]):
        await paths.both(document, {"hashtag": tags[0], "kinds": kinds}, role)


async def _people(paths: Paths, role: str) -> None:
    document = operation("admin/People.graphql")
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    spans = [
        {"since": (until - timedelta(days=90)).isoformat(), "until": until.isoformat()},
        {"since": "2026-03-04T10:30:00+00:00", "until": "2026-05-01T00:00:00+00:00"},
        {"since": until.isoformat(), "until": until.isoformat()},
        {"since": until.isoformat(), "until": (until - timedelta(days=1)).isoformat()},
    ]
    for span in spans:
        await paths.both(document, {"first": 3, **span}, role)
    span = spans[0]
    for search in ("", "manager", "ha", "no-one-is-called-this", "ß é"):
        await paths.both(document, {"search": search, **span}, role)
    # Every page: names with accents and apostrophes travel in the cursors.
    after = None
    for _ in range(60):
        answer = await paths.both(document, {"first": 25, "after": after, **span}, role)
        people = (answer.get("data") or {}).get("people")
        if not people or not people["pageInfo"]["hasNextPage"]:
            break
        after = people["pageInfo"]["endCursor"]
    await paths.both(document, {"after": "bm9wZQ", **span}, role)


async def _resource_performance(paths: Paths, role: str) -> None:
    document = operation("lms/ResourcePerformance.graphql")
    promoted = await _ids(
        paths.db,
        "SELECT resource_id FROM post_resource GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3",
    )
    internal = await _ids(paths.db, "SELECT id FROM resource WHERE visibility = 'INTERNAL'")
    topic = await _ids(paths.db, "SELECT id FROM topic ORDER BY id LIMIT 1")
    post = await _ids(paths.db, "SELECT id FROM post ORDER BY id LIMIT 1")
    resources = [_gid("Resource", pk) for pk in [*promoted, *internal[:1], 10**15]]
    for ids in (
        resources,
        [],
        [*resources[:1], _gid("Topic", topic[0])],
        [*resources[:1], _gid("Post", post[0])],
        [*resources[:1], "nope"],
        [_gid("Person", 1)],
    ):
        await paths.both(document, {"ids": ids}, role)


# Search texts: empty and blank, accents and other scripts, quotes (phrases), operators of
# websearch_to_tsquery (or, -), LIKE's wildcards and escapes (which must mean nothing), stop
# words only, prefixes, absent words, an emoji.
SEARCH_TEXTS = (
    "",
    "   ",
    "leadership",
    "Leadership  CHANGE",
    "führung",
    "équipe café",
    "日本語",
    '"change management"',
    '"unclosed quote',
    "leadership or coaching",
    "leadership -change",
    "%",
    "_",
    "\\",
    "50% of_the \\ team",
    "'; DROP TABLE post; --",
    "the",
    "a an the of",
    "lead*",
    "lead:*",
    "zzqxabsentword",
    "😀",
    " \u00a0leadership\u3000",
)


async def _search(paths: Paths, role: str) -> None:
    document = operation("mobile/Search.graphql")
    common = await _ids(
        paths.db,
        "SELECT word FROM ts_stat('SELECT search FROM post WHERE thread_starter_id IS NULL')"
        " ORDER BY ndoc DESC, word LIMIT 3",
    )
    for text in [*SEARCH_TEXTS, *common]:
        await paths.both(document, {"text": text}, role)
    for first in (0, 1, 10, 100, 101, -1):
        for text in ("leadership", common[0], ""):
            await paths.both(document, {"text": text, "first": first}, role)


async def _the_rest(paths: Paths, role: str) -> None:
    """Operations the compiler does not cover: both paths are the resolvers; still equal."""
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"since": (until - timedelta(days=60)).isoformat(), "until": until.isoformat()}
    slug = (await _ids(paths.db, "SELECT slug FROM campaign ORDER BY id LIMIT 1"))[0]
    await paths.both(operation("web/CampaignDashboard.graphql"), {"slug": slug, **span}, role)
    sync = operation("admin/SyncStatus.graphql").split("mutation")[0]
    await paths.both(sync, {}, role)


def _dashboard_spans() -> list[dict[str, str]]:
    """Ranges the dashboards are asked for: whole UTC days (the rollups alone), partial edge
    days at either end or both, under a day, across UTC midnight, other offsets (a DST change
    between the ends), empty, reversed (refused), too many periods (refused), all history."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    ranges = [
        (today - 90 * day, today + day),
        (today - 30 * day, today),
        (today - 45 * day + timedelta(hours=7, minutes=13), today - 2 * day),
        (today - 45 * day, today - timedelta(hours=5, seconds=1, microseconds=5)),
        (today - 61 * day + timedelta(hours=23), today - day + timedelta(hours=1)),
        (today - 3 * day + timedelta(hours=2), today - 3 * day + timedelta(hours=20)),
        (today - 2 * day - timedelta(hours=3), today - 2 * day + timedelta(hours=4)),
        (today - 7 * day, today - 7 * day),
        (today - 7 * day + timedelta(hours=3), today - 7 * day + timedelta(hours=3)),
        (today - 5 * day, today - 6 * day),
        (datetime(2000, 1, 1, tzinfo=UTC), today + 400 * day),
        (datetime(2025, 1, 1, tzinfo=UTC), today + 10 * day),
        (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        (datetime(2026, 10, 5, 9, 30, tzinfo=UTC), datetime(2026, 10, 19, 17, tzinfo=UTC)),
    ]
    spans = [{"since": a.isoformat(), "until": b.isoformat()} for a, b in ranges]
    # Local times either side of a DST change (Europe, 2026-10-25), and a +05:30 zone.
    spans += [
        {"since": "2026-10-20T00:30:00+02:00", "until": "2026-10-30T23:30:00+01:00"},
        {"since": "2026-10-10T00:00:00+05:30", "until": "2026-10-24T05:30:00+05:30"},
        {"since": "2026-10-05T00:00:00-04:00", "until": "2026-10-06T00:00:00-04:00"},
    ]
    return spans


async def _dashboards(paths: Paths, role: str) -> None:
    """CampaignDashboard, ContentMix and ManagerLeaderboard (compiled for staff), every campaign
    and one unknown, over every kind of range."""
    slugs = await _ids(paths.db, "SELECT slug FROM campaign ORDER BY id")
    for name in ("ContentMix", "ManagerLeaderboard", "CampaignDashboard"):
        document = operation(f"web/{name}.graphql")
        for span in _dashboard_spans():
            await paths.both(document, {"slug": slugs[0], **span}, role)
        span = _dashboard_spans()[2]
        for slug in [*slugs[1:], "no-such-campaign"]:
            await paths.both(document, {"slug": slug, **span}, role)


@pytest.mark.parametrize("role", ROLES)
async def test_the_dashboards_answer_alike(
    paths: Paths, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _dashboards(paths, role)
    assert not [r for r in caplog.records if r.name == "schema.compiled"]
    used = {s.split("*/")[0] for s in paths.statements if s.startswith("/* compiled")}
    # The LMS may not read campaigns: the resolvers refuse it.
    expected = set() if role == "LMS" else {"ContentMix", "ManagerLeaderboard", "CampaignDashboard"}
    assert used == {f"/* compiled {n} " for n in expected}


@pytest.mark.parametrize("role", ROLES)
async def test_both_paths_answer_the_contract_alike(
    paths: Paths, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _topic_feed(paths, role)
    await _post_detail(paths, role)
    await _resource_links(paths, role)
    await _people(paths, role)
    await _resource_performance(paths, role)
    await _search(paths, role)
    await _the_rest(paths, role)
    slug = (await _ids(paths.db, "SELECT slug FROM campaign ORDER BY id LIMIT 1"))[0]
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"since": (until - timedelta(days=60)).isoformat(), "until": until.isoformat()}
    for name in ("ContentMix", "ManagerLeaderboard"):
        await paths.both(operation(f"web/{name}.graphql"), {"slug": slug, **span}, role)
    # No plan failed and fell back: the equal answers above came from plans where covered.
    assert not [r for r in caplog.records if r.name == "schema.compiled"]
    both = ("TopicFeed", "PostDetail", "ResourceLinks", "ResourcePerformance", "Search")
    covered = {
        "ADMIN": {*both, *DASHBOARDS, "People"},
        "MANAGER": {*both, *DASHBOARDS, "People"},
        "MEMBER": {*both, *DASHBOARDS},  # People asks for emails
        # TopicFeed, Search and People ask for fields the LMS may not read; PostDetail's ids
        # of posts fall back (the LMS reads only posts promoting a resource), of topics and
        # resources not
        "LMS": {"ResourceLinks", "ResourcePerformance", "PostDetail"},
    }
    used = {s.split("*/")[0] for s in paths.statements if s.startswith("/* compiled")}
    assert used == {f"/* compiled {n} " for n in covered[role]}


DASHBOARDS = ("CampaignDashboard", "ContentMix", "ManagerLeaderboard")
QUARTER = {
    "slug": "learning-community",
    "since": "2026-08-30T00:00:00+00:00",
    "until": "2026-11-28T00:00:00+00:00",
}


@pytest.mark.parametrize(
    ("path", "role", "variables"),
    [
        ("mobile/TopicFeed.graphql", "MEMBER", {"hashtag": "leadership", "first": 5}),
        ("mobile/TopicFeed.graphql", "ADMIN", {"hashtag": "change"}),
        ("lms/ResourceLinks.graphql", "LMS", {"hashtag": "leadership"}),
        ("lms/ResourceLinks.graphql", "MANAGER", {"hashtag": "leadership"}),
        ("web/ContentMix.graphql", "MEMBER", QUARTER),
        ("web/CampaignDashboard.graphql", "ADMIN", QUARTER),
        ("web/ManagerLeaderboard.graphql", "MANAGER", QUARTER),
        ("web/ManagerLeaderboard.graphql", "ADMIN", {**QUARTER, "since": "2026-09-01T10:00:00Z"}),
    ],
)
async def test_a_covered_operation_reads_with_one_statement(
    paths: Paths, path: str, role: str, variables: dict[str, Any]
) -> None:
    document = operation(path)
    await paths.both(document, variables, role)  # compiled once, and the LMS key looked up
    paths.statements.clear()
    answer = await paths.both(document, variables, role)
    assert "errors" not in answer
    compiled = [s for s in paths.statements if s.startswith("/* compiled")]
    assert len(compiled) == 1, paths.statements
    # Besides the plan, only authentication (an API key) and the budget's draw run: no
    # resolver read anything.
    others = [s for s in paths.statements if not s.startswith(("/* compiled", "SELECT api_key"))]
    assert len(others) == 1, others
    assert "query_budget" in others[0], others


async def test_an_uncovered_role_runs_on_the_resolvers(paths: Paths) -> None:
    # The LMS may not read a topic's posts: the resolvers answer, with their field error.
    answer = await paths.both(operation("mobile/TopicFeed.graphql"), {"hashtag": "change"}, "LMS")
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not [s for s in paths.statements if s.startswith("/* compiled")]


# Ad-hoc shapes the compiler takes: aliases, repeated fields merged, named and inline
# fragments (on the Node interface, on other types), @skip/@include with variables and
# literals, __typename, and fields the contract does not use.
AD_HOC = """
query Shapes($hashtag: String!, $id: ID!, $withBody: Boolean!, $skipTopics: Boolean = false,
             $n: Int) {
  __typename
  feed: topic(hashtag: $hashtag) {
    __typename
    ...TopicBits
    description
    resources { id title visibility series { id } episodes { id position } clickCount }
    newest: posts(first: 2) {
      pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
      nodes { id body @include(if: $withBody) author { id } author { fullName } }
    }
    later: posts(first: $n, after: null) {
      totalCount
      edges { cursor node { ... on Node { id } ...Card } }
    }
  }
  again: topic(hashtag: "#CHANGE") { id }
  node(id: $id) {
    __typename
    id
    ... on Node { __typename }
    ... on Post {
      isReply kindSetByHand messageType hashtags
      metrics { shares likes }
      thread { id } repliedTo { id createdAt }
      topics @skip(if: $skipTopics) { id name }
      metricsHistory(first: 3) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { observedAt shares } }
      }
      replies(first: 2) { nodes { id isReply } }
    }
    ... on Topic { name hashtag }
    ... on Person { fullName followerCount followingCount department url }
    ... on Resource { kind trackedUrl topics { hashtag } }
    ... on Group { name privacy memberCount joined url description }
  }
  resources(first: 3, filter: {kinds: [PODCAST_EPISODE, ARTICLE]}) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id kind series { title } }
  }
}

fragment TopicBits on Topic { id hashtag name }

fragment Card on Post {
  kind createdAt url
  group { id name }
  resources { id kind title trackedUrl }
  author @include(if: true) { avatarUrl }
}
"""


@pytest.mark.parametrize("role", ["ADMIN", "MEMBER"])
async def test_ad_hoc_shapes_answer_alike(paths: Paths, role: str) -> None:
    posts = await _ids(
        paths.db,
        "SELECT id FROM post WHERE deleted_at IS NULL ORDER BY reply_count DESC, id LIMIT 1",
    )
    replies = await _ids(paths.db, "SELECT id FROM post WHERE replied_to_id IS NOT NULL LIMIT 1")
    ids = [_gid("Post", pk) for pk in [*posts, *replies]]
    for kind, table in (
        ("Topic", "topic"),
        ("Person", "person"),
        ("Resource", "resource"),
        ("Group", "microblog_group"),
    ):
        ids += [_gid(kind, pk) for pk in await _ids(paths.db, f"SELECT id FROM {table} LIMIT 1")]
    for id_ in ids:
        for flags in ({"withBody": True}, {"withBody": False, "skipTopics": True, "n": 4}):
            variables = {"hashtag": "leadership", "id": id_, **flags}
            answer = await paths.both(AD_HOC, variables, role)
            assert "errors" not in answer, answer
    assert [s for s in paths.statements if s.startswith("/* compiled Shapes")]


async def test_text_cursors_match_for_any_name(paths: Paths) -> None:
    # Cursors of People carry the name as json.dumps writes it (ASCII only, escapes).
    names = [
        "Zoë O'Brien",
        'Quote "Q" Back\\slash',
        "Tab\there",
        "Del\x7fchar",
        "Emoji 😀 Person",
        "日本 語",
        "",
    ]
    async with paths.db.unit_of_work() as session:
        for i, name in enumerate(names):
            await session.execute(
                sa.text(
                    "INSERT INTO person (external_id, full_name, job_title) "
                    "VALUES (:e, :n, 'Zzcursor')"
                ),
                {"e": 9_000_000 + i, "n": name},
            )
    document = operation("admin/People.graphql")
    span = {"since": "2026-01-05T00:00:00+00:00", "until": "2026-02-01T00:00:00+00:00"}
    after, seen = None, 0
    for _ in range(len(names) + 1):
        variables = {"search": "zzcursor", "first": 1, "after": after, **span}
        answer = await paths.both(document, variables, "ADMIN")
        people = answer["data"]["people"]
        seen += len(people["nodes"])
        if not people["pageInfo"]["hasNextPage"]:
            break
        after = people["pageInfo"]["endCursor"]
    assert seen == len(names)
    assert [s for s in paths.statements if s.startswith("/* compiled People")]


# Root posts in every order, filtered every way, paged through the cursors the compiled path
# gives out; and the other post lists that take an order.
ORDERS = (
    "",
    "orderBy: {field: CREATED_AT}",
    "orderBy: {field: CREATED_AT, direction: ASC}",
    "orderBy: {field: LIKES}",
    "orderBy: {field: REPLIES, direction: ASC}",
    "orderBy: {field: RELEVANCE}",
    "orderBy: {field: RELEVANCE, direction: ASC}",
)
PAGE = """
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id excerpt createdAt metrics { likes replies } } }
"""
ROOT_POSTS = """
query Orders($text: String, $first: Int, $after: String, $filter: PostFilterInput) {
  posts(first: $first, after: $after, filter: {text: $text}, ORDER) { PAGE }
  filtered: posts(first: 3, filter: $filter, ORDER) { PAGE }
}
"""
OWNED_POSTS = """
query Owned($hashtag: String!, $id: ID!, $first: Int, $after: String) {
  topic(hashtag: $hashtag) { posts(first: $first, after: $after, ORDER) { PAGE } }
  node(id: $id) {
    ... on Person { posts(first: $first, after: $after, ORDER) { PAGE } }
    ... on Group { posts(first: $first, after: $after, ORDER) { PAGE } }
  }
}
"""


async def _pages(paths: Paths, document: str, variables: dict[str, Any], role: str) -> int:
    """Every page, through each answer's endCursor; how many posts were read."""
    after, seen = None, 0
    for _ in range(12):
        answer = await paths.both(document, {**variables, "after": after}, role)
        lists = [
            p
            for p in (
                (answer.get("data") or {}).get("posts"),
                ((answer.get("data") or {}).get("topic") or {}).get("posts"),
                ((answer.get("data") or {}).get("node") or {}).get("posts"),
            )
            if p
        ]
        seen += sum(len(p["edges"]) for p in lists)
        ends = [p["pageInfo"]["endCursor"] for p in lists if p["pageInfo"]["hasNextPage"]]
        if not ends:
            break
        after = ends[0]
    return seen


async def test_post_lists_in_every_order_and_filter_answer_alike(paths: Paths) -> None:
    common = await _ids(
        paths.db,
        "SELECT word FROM ts_stat('SELECT search FROM post WHERE thread_starter_id IS NULL')"
        " ORDER BY ndoc DESC, word LIMIT 1",
    )
    author = await _ids(
        paths.db,
        "SELECT author_id FROM post WHERE thread_starter_id IS NULL GROUP BY 1 "
        "ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    group = await _ids(
        paths.db,
        "SELECT group_id FROM post WHERE group_id IS NOT NULL GROUP BY 1 "
        "ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    tag = (await _ids(paths.db, "SELECT hashtag FROM topic ORDER BY id LIMIT 1"))[0]
    filters: list[Any] = [
        None,
        {},
        {"text": common[0], "hashtags": [tag], "kinds": ["TIP", "QUESTION", "OTHER"]},
        {"hashtags": [f"#{tag.upper()}", "no-such-tag"], "authorId": _gid("Person", author[0])},
        {"groupId": _gid("Group", group[0]), "since": "2026-01-01T00:00:00+00:00"},
        {"until": "2026-10-20T00:00:00Z", "text": "leadership -change"},
        {"since": "2026-10-10T12:30:00.250000+02:00", "kinds": []},
        {"authorId": _gid("Topic", 1)},  # BAD_USER_INPUT from the resolvers
        {"hashtags": ["bad tag"]},
        {"groupId": "nope"},
    ]
    read = 0
    for order in ORDERS:
        document = ROOT_POSTS.replace("ORDER", order).replace("PAGE", PAGE)
        for text in ("leadership", common[0], "", None):
            read += await _pages(paths, document, {"text": text, "first": 7}, "ADMIN")
        for flt in filters:
            await paths.both(document, {"text": common[0], "filter": flt}, "MEMBER")
        await paths.both(document, {"text": common[0], "first": 101}, "ADMIN")
        await paths.both(document, {"text": common[0]}, "LMS")
        owned = OWNED_POSTS.replace("ORDER", order).replace("PAGE", PAGE)
        for id_ in (_gid("Person", author[0]), _gid("Group", group[0])):
            variables = {"hashtag": tag, "id": id_, "first": 9}
            read += await _pages(paths, owned, variables, "MANAGER")
    assert read > 0
    used = {s.split("*/")[0] for s in paths.statements if s.startswith("/* compiled")}
    assert used == {"/* compiled Orders ", "/* compiled Owned "}


def _cursor(value: Any, pk: int) -> str:
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_forged_relevance_cursors_answer_alike(paths: Paths) -> None:
    document = ROOT_POSTS.replace("ORDER", "").replace("PAGE", PAGE)
    for value in (0.05, 1e-20, 1e300, -1e39, float("nan"), float("inf"), 3, "0.1", None, True):
        for text in ("leadership", ""):
            variables = {"text": text, "first": 3, "after": _cursor(value, 10**6)}
            await paths.both(document, variables, "ADMIN")
    # Likes and replies are PostgreSQL integers: a cursor beyond 32 bits is no cursor of ours.
    document = ROOT_POSTS.replace("ORDER", "orderBy: {field: LIKES}").replace("PAGE", PAGE)
    for value in (2**31 - 1, 2**31, -(2**31) - 1, 2**40, 0, 1.5, "3"):
        variables = {"text": "", "first": 3, "after": _cursor(value, 5)}
        answer = await paths.both(document, variables, "ADMIN")
        if not isinstance(value, int) or not -(2**31) <= value < 2**31:
            assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer
    assert [s for s in paths.statements if s.startswith("/* compiled Orders")]


# Bodies whose excerpts are easy to get wrong: every kind of whitespace, cuts at and around
# 140 characters, trimmed punctuation, long words, scripts beyond ASCII and the BMP.
AWKWARD_BODIES = (
    "  zzexcerpt leading\u00a0and\u3000trailing\u2028whitespace\x1c\x85 ",
    "zzexcerpt " + "a" * 130,
    "zzexcerpt " + "a" * 131,
    "zzexcerpt " + "a" * 200,
    "b" * 141 + " zzexcerpt",
    "zzexcerpt " + "c" * 120 + ", then -- " + "d" * 50,
    "zzexcerpt " + "é" * 125 + " ;:- " + "f" * 10,
    "zzexcerpt " + "😀" * 135 + " end",
    "zzexcerpt " + "日本語" * 60,
    "zzexcerpt zero\u200bwidth\ufeff " * 12,
    "zzexcerpt\t\n\r\x0b\x0c" + " - " * 60,
)


async def test_excerpts_of_awkward_bodies_answer_alike(paths: Paths) -> None:
    async with paths.db.unit_of_work() as session:
        author = (await session.execute(sa.text("SELECT min(id) FROM person"))).scalar_one()
        for i, body in enumerate(AWKWARD_BODIES):
            await session.execute(
                sa.text(
                    "INSERT INTO post (external_id, author_id, body, created_at) "
                    "VALUES (:e, :a, :b, :t)"
                ),
                {
                    "e": 8_000_000 + i,
                    "a": author,
                    "b": body,
                    "t": datetime(2026, 10, 1, tzinfo=UTC),
                },
            )
    for role in ("ADMIN", "MEMBER"):
        answer = await paths.both(
            operation("mobile/Search.graphql"), {"text": "zzexcerpt", "first": 100}, role
        )
        posts = answer["data"]["posts"]
        assert posts["totalCount"] == len(AWKWARD_BODIES)
        assert {len(n["excerpt"]) <= 140 for n in posts["nodes"]} == {True}
    assert [s for s in paths.statements if s.startswith("/* compiled Search")]


# -- search texts, generated --------------------------------------------------------------------


class _LoopThread:
    """An event loop in a thread of its own: a hypothesis test's examples are synchronous, and
    the two apps must live on one loop for all of them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=300)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@pytest.fixture(scope="module")
def searching(
    pg_server: dbs.TestServer, demo_template: str
) -> Iterator[tuple[_LoopThread, Paths, list[str]]]:
    """Both apps over the demo and a generated network, and the words posts use most."""
    url = pg_server.create(template=demo_template)
    runner = _LoopThread()
    gen = _paths(url)
    try:
        runner.run(generate(url, people=150, posts=1_500, seed=11))
        paths = runner.run(anext(gen))
        words = runner.run(
            _ids(
                paths.db,
                "SELECT word FROM ts_stat('SELECT search FROM post') ORDER BY ndoc DESC, word "
                "LIMIT 40",
            )
        )
        yield runner, paths, words
    finally:
        runner.run(gen.aclose())
        runner.close()
        pg_server.drop(url)


# What people type, and what websearch_to_tsquery and LIKE make something of.
OPERATORS = ("or", "OR", "-", '"', "*", ":*", "&", "|", "!", "(", ")", "<->", "%", "_", "\\", "'")


def _texts(words: list[str]) -> st.SearchStrategy[str]:
    piece = st.one_of(
        st.sampled_from(words),
        st.sampled_from(words).map(str.upper),
        st.sampled_from(OPERATORS),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6),
    )
    joined = st.tuples(st.lists(piece, max_size=6), st.sampled_from([" ", "", "  ", "\t"]))
    return st.one_of(joined.map(lambda p: p[1].join(p[0])), st.text(max_size=12))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_search_text_answers_alike(
    searching: tuple[_LoopThread, Paths, list[str]], data: st.DataObject
) -> None:
    runner, paths, words = searching
    text = data.draw(_texts(words), label="text")
    first = data.draw(st.sampled_from([1, 10, 100]), label="first")
    answer = runner.run(
        paths.both(operation("mobile/Search.graphql"), {"text": text, "first": first}, "MEMBER")
    )
    assert "data" in answer
    assert [s for s in paths.statements if s.startswith("/* compiled Search")]


MAINTAINED_COUNTS = """
query Counts($hashtag: String!, $group: ID!, $resource: ID!, $person: ID!) {
  topic(hashtag: $hashtag) { posts(first: 1) { totalCount } }
  group: node(id: $group) { ... on Group { posts(first: 1) { totalCount } } }
  resource: node(id: $resource) { ... on Resource { promotingPosts(first: 1) { totalCount } } }
  person: node(id: $person) { ... on Person { posts(first: 1) { totalCount } } }
  filtered: posts(first: 1, filter: {hashtags: [$hashtag]}) { totalCount }
}
"""


async def test_unfiltered_feeds_count_from_the_maintained_rows(paths: Paths) -> None:
    """A topic's, a group's and a resource's totalCount is the maintained figure on both
    paths (a delta row written behind the triggers' back shows in both answers); a filtered
    list, and a person's posts, still count the posts."""
    live = "p.deleted_at IS NULL AND p.thread_starter_id IS NULL"
    [(tag, topic_n)] = await _rows(
        paths.db,
        f"SELECT h.hashtag, count(*) FROM post_hashtag h JOIN post p ON p.id = h.post_id "
        f"WHERE {live} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    [(group, group_n)] = await _rows(
        paths.db,
        f"SELECT group_id, count(*) FROM post p WHERE {live} AND group_id IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    [(resource, resource_n)] = await _rows(
        paths.db,
        f"SELECT r.resource_id, count(*) FROM post_resource r JOIN post p ON p.id = r.post_id "
        f"WHERE {live} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    [(person, person_n)] = await _rows(
        paths.db,
        f"SELECT author_id, count(*) FROM post p WHERE {live} GROUP BY 1 ORDER BY 2 DESC, 1 "
        "LIMIT 1",
    )
    async with paths.db.unit_of_work() as session:
        # Delta rows: each key's count is the sum of its rows (api/db/models/counts.py).
        await session.execute(
            sa.text("INSERT INTO hashtag_post_count (hashtag, starters) VALUES (:k, 1000)"),
            {"k": tag},
        )
        await session.execute(
            sa.text("INSERT INTO group_post_count (group_id, starters) VALUES (:k, 2000)"),
            {"k": group},
        )
        await session.execute(
            sa.text("INSERT INTO resource_post_count (resource_id, starters) VALUES (:k, 3000)"),
            {"k": resource},
        )
    variables = {
        "hashtag": tag,
        "group": _gid("Group", group),
        "resource": _gid("Resource", resource),
        "person": _gid("Person", person),
    }
    paths.statements.clear()
    answer = await paths.both(MAINTAINED_COUNTS, variables, "ADMIN")
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["topic"]["posts"]["totalCount"] == topic_n + 1000
    assert data["group"]["posts"]["totalCount"] == group_n + 2000
    assert data["resource"]["promotingPosts"]["totalCount"] == resource_n + 3000
    assert data["person"]["posts"]["totalCount"] == person_n
    assert data["filtered"]["totalCount"] == topic_n
    [plan] = [s for s in paths.statements if s.startswith("/* compiled Counts")]
    assert "hashtag_post_count" in plan
    # The compiled TopicFeed reads the maintained figure too.
    feed = await paths.both(operation("mobile/TopicFeed.graphql"), {"hashtag": tag}, "MEMBER")
    assert feed["data"]["topic"]["posts"]["totalCount"] == topic_n + 1000
    assert any(s.startswith("/* compiled TopicFeed") for s in paths.statements)


async def test_everyones_count_is_the_maintained_one(paths: Paths) -> None:
    """People's totalCount without a search is the maintained figure on both paths (a delta
    row written behind the triggers' back shows in both answers); a search still counts."""
    [(everyone,)] = await _rows(paths.db, "SELECT count(*) FROM person")
    [(managers,)] = await _rows(
        paths.db,
        "SELECT count(*) FROM person WHERE search @@ to_tsquery('simple', 'manager:*')",
    )
    async with paths.db.unit_of_work() as session:
        added = await session.execute(
            sa.text("INSERT INTO person_count (people) VALUES (500) RETURNING id")
        )
        row = added.scalar_one()
    document = operation("admin/People.graphql")
    span = {"since": "2026-03-04T10:30:00+00:00", "until": "2026-05-01T00:00:00+00:00"}
    paths.statements.clear()
    try:
        answer = await paths.both(document, {"first": 2, **span}, "ADMIN")
        assert answer["data"]["people"]["totalCount"] == everyone + 500
        searched = await paths.both(document, {"search": "manager", **span}, "ADMIN")
        assert searched["data"]["people"]["totalCount"] == managers
        plans = [s for s in paths.statements if s.startswith("/* compiled People")]
        assert len(plans) == 2
        assert all("person_count" in plan for plan in plans)
    finally:
        async with paths.db.unit_of_work() as session:
            await session.execute(sa.text("DELETE FROM person_count WHERE id = :id"), {"id": row})


async def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.reading() as session:
        return [tuple(row) for row in await session.execute(sa.text(sql))]
