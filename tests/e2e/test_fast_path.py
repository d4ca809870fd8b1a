"""The HTTP fast path (api/fast_path.py) answers exactly as the full path and the resolvers do.

Three apps share one database: the fast path on (the default), the fast path off (every
request through Strawberry, compiled plans answering), and compiled plans off (the resolvers).
Every contract read operation, every role, several variable sets: the bodies (byte for byte
between the fast and the full path; the same JSON as the resolvers', whose bytes differ where
a plan answered: schema/compiled.py), statuses and caching headers must be equal. Then what
the fast path must keep doing per request: refuse a revoked key or an expired token at once,
spend the budget once and refuse it as the full path does, refuse bad variables alike, answer
304, and count its requests on /metrics. A DEBUG log line names each answer the fast path
gave, so the tests know which path answered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from api.auth import create_api_key, issue_token, revoke_api_key
from api.db.session import Database
from api.domain.enums import Role
from api.persisted import register_documents, sha256_of
from api.seed.generator import generate
from api.settings import Settings
from tests.e2e.conftest import operation
from tests.e2e.test_compiled import (
    ROLES,
    SUBJECTS,
    Paths,
    _app,
    _ids,
    _people,
    _post_detail,
    _resource_links,
    _resource_performance,
    _search,
    _settings,
    _the_rest,
    _topic_feed,
    same_json,
)

CACHING = ("content-type", "etag", "cache-control", "vary")
RESOURCE_LINKS = operation("lms/ResourceLinks.graphql")


def _fast_answers(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "api.fast_path" and "answered" in r.msg
    ]


@dataclass
class ThreePaths(Paths):
    full: httpx.AsyncClient | None = None

    async def both(self, document: str, variables: dict[str, Any], role: str) -> Any:
        """Through the fast path (its second request at least), the full path and the
        resolvers, by POST and by GET; assert equal answers; the answer."""
        assert self.full is not None
        body = {"query": document, "variables": variables}
        headers = self.headers[role]
        answers = []
        for client in (self.compiled, self.compiled, self.full, self.resolvers):
            answers.append(await client.post("/graphql", json=body, headers=headers))
        first = answers[-1]
        planned = answers[-2]  # the full path: a compiled plan's bytes, where one answered
        for answer in answers:
            assert answer.status_code == first.status_code, (role, variables)
            assert same_json(answer.text, first.text), (role, variables, answer.text[:300])
            if answer is not first:
                assert answer.text == planned.text, (role, variables, answer.text[:300])
            assert [answer.headers.get(h) for h in CACHING] == [
                first.headers.get(h) for h in CACHING
            ]
        return first.json()


async def _three(url: str) -> AsyncIterator[ThreePaths]:
    dbs = [Database.connect(url, pool_size=2) for _ in range(3)]
    fast_settings = _settings(url, compiled=True)
    headers = {
        role: {"Authorization": f"Bearer {issue_token(fast_settings, Role(role), subject)}"}
        for role, subject in SUBJECTS.items()
    }
    headers["LMS"] = {"X-API-Key": await create_api_key(dbs[0], "lms-fast", Role.LMS)}
    gens = [
        _app(fast_settings, dbs[0]),
        _app(fast_settings.model_copy(update={"fast_path": False}), dbs[1]),
        _app(_settings(url, compiled=False), dbs[2]),
    ]
    fast, full, slow = [await anext(g) for g in gens]
    paths = ThreePaths(compiled=fast, resolvers=slow, db=dbs[0], headers=headers, full=full)
    try:
        yield paths
    finally:
        for gen in gens:
            await gen.aclose()
        for db in dbs:
            await db.dispose()


@pytest.fixture(params=["demo", "generated"])
async def three(request: pytest.FixtureRequest, demo_url: str) -> AsyncIterator[ThreePaths]:
    if request.param == "generated":
        await generate(demo_url, people=150, posts=1_500, seed=7)
    async for p in _three(demo_url):
        yield p


@pytest.mark.parametrize("role", ROLES)
async def test_the_fast_path_answers_the_contract_as_the_full_path_and_the_resolvers(
    three: ThreePaths, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    await _topic_feed(three, role)
    await _post_detail(three, role)
    await _resource_links(three, role)
    await _people(three, role)
    await _resource_performance(three, role)
    await _search(three, role)
    await _the_rest(three, role)
    slug = (await _ids(three.db, "SELECT slug FROM campaign ORDER BY id LIMIT 1"))[0]
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"since": (until - timedelta(days=60)).isoformat(), "until": until.isoformat()}
    for name in ("ContentMix", "ManagerLeaderboard"):
        await three.both(operation(f"web/{name}.graphql"), {"slug": slug, **span}, role)
    both = {"TopicFeed", "PostDetail", "ResourceLinks", "ResourcePerformance", "Search"}
    dashboards = {"CampaignDashboard", "ContentMix", "ManagerLeaderboard"}
    covered = {
        "ADMIN": {*both, *dashboards, "People"},
        "MANAGER": {*both, *dashboards, "People"},
        "MEMBER": {*both, *dashboards},
        "LMS": {"ResourceLinks", "ResourcePerformance", "PostDetail"},
    }
    answered = {m.split()[3] for m in _fast_answers(caplog)}
    # Every operation a compiled plan covers took the fast path (and gave the answers above).
    assert answered == covered[role]


@dataclass
class Two:
    fast: httpx.AsyncClient
    full: httpx.AsyncClient
    db: Database
    settings: Settings
    statements: list[str]

    async def post(self, client: httpx.AsyncClient, **kwargs: Any) -> httpx.Response:
        return await client.post("/graphql", **kwargs)


def _small_budget(url: str) -> Settings:
    # ResourceLinks costs a few points: a member's bucket holds a few requests and refills
    # too slowly to matter during the test.
    return _settings(url, compiled=True).model_copy(
        update={"query_budget_member": 170, "query_budget_member_restore": 0.001}
    )


@pytest.fixture
async def two(demo_url: str) -> AsyncIterator[Two]:
    """The fast path on and off, one database; the response cache on (the default)."""
    async for t in _two(demo_url):
        yield t


async def _two(url: str, **overrides: Any) -> AsyncIterator[Two]:
    settings = _small_budget(url).model_copy(update={"response_cache_bytes": 1 << 20, **overrides})
    dbs = [Database.connect(url, pool_size=2) for _ in range(2)]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(dbs[0].engine.sync_engine, "before_cursor_execute", count)
    gens = [
        _app(settings, dbs[0]),
        _app(settings.model_copy(update={"fast_path": False}), dbs[1]),
    ]
    fast, full = [await anext(g) for g in gens]
    try:
        yield Two(fast, full, dbs[0], settings, statements)
    finally:
        event.remove(dbs[0].engine.sync_engine, "before_cursor_execute", count)
        for gen in gens:
            await gen.aclose()
        for db in dbs:
            await db.dispose()


def _links(hashtag: str = "leadership") -> dict[str, Any]:
    return {"query": RESOURCE_LINKS, "variables": {"hashtag": hashtag}}


async def test_a_revoked_key_is_refused_on_the_next_request(
    two: Two, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    key = {"X-API-Key": await create_api_key(two.db, "soon-revoked", Role.LMS)}
    for _ in range(2):
        answer = await two.post(two.fast, json=_links(), headers=key)
        assert answer.status_code == 200
        assert "errors" not in answer.json()
    assert len(_fast_answers(caplog)) == 1  # the second request took the fast path
    await revoke_api_key(two.db, "soon-revoked")
    refused = await two.post(two.fast, json=_links(), headers=key)
    full = await two.post(two.full, json=_links(), headers=key)
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (refused.status_code, refused.text) == (full.status_code, full.text)
    assert len(_fast_answers(caplog)) == 1


async def test_an_expired_token_is_refused(two: Two, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    subject = SUBJECTS["MANAGER"]
    fresh = {"Authorization": f"Bearer {issue_token(two.settings, Role.MANAGER, subject)}"}
    for _ in range(2):
        await two.post(two.fast, json=_links(), headers=fresh)
    assert len(_fast_answers(caplog)) == 1
    token = issue_token(two.settings, Role.MANAGER, subject, ttl_seconds=-3600)
    expired = {"Authorization": f"Bearer {token}"}
    refused = await two.post(two.fast, json=_links(), headers=expired)
    full = await two.post(two.full, json=_links(), headers=expired)
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (refused.status_code, refused.text) == (full.status_code, full.text)
    assert len(_fast_answers(caplog)) == 1


async def test_the_budget_is_drawn_once_and_refused_as_the_full_path_does(
    two: Two, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    member = {
        "Authorization": f"Bearer {issue_token(two.settings, Role.MEMBER, SUBJECTS['MEMBER'])}",
        "Accept": "application/graphql-response+json",
    }
    left = []
    refused = None
    for _ in range(12):
        two.statements.clear()
        answer = await two.post(two.fast, json=_links(), headers=member)
        draws = [s for s in two.statements if "query_budget" in s]
        assert len(draws) == 1, (
            two.statements,
            answer.text,
        )  # one draw per request, whichever path answers
        cost = answer.json()["extensions"]["cost"] if answer.status_code == 200 else None
        if cost is None:
            refused = answer
            break
        left.append(cost["throttleStatus"]["currentlyAvailable"])
    assert refused is not None, left
    assert _fast_answers(caplog)  # some were answered by the fast path
    spent = left[0] - left[1]
    assert spent > 0
    assert left == [left[0] - i * spent for i in range(len(left))]
    assert refused.status_code == 429
    assert refused.headers["retry-after"]
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["currentlyAvailable"] == left[-1]
    # The full path, on the same spent bucket, refuses in the same words.
    full = await two.post(two.full, json=_links(), headers=member)
    assert (full.status_code, full.text) == (refused.status_code, refused.text)
    assert full.headers["retry-after"] == refused.headers["retry-after"]


@pytest.mark.parametrize(
    "variables",
    [{}, {"hashtag": 5}, {"hashtag": "x" * 5000}, {"hashtag": "a\u0000b"}, {"hashtag": None}],
)
async def test_bad_variables_get_the_full_paths_answer(
    two: Two, variables: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    admin = {"Authorization": f"Bearer {issue_token(two.settings, Role.ADMIN, 'admin@x.test')}"}
    for _ in range(2):
        await two.post(two.fast, json=_links(), headers=admin)
    assert len(_fast_answers(caplog)) == 1
    body = {"query": RESOURCE_LINKS, "variables": variables}
    fast = await two.post(two.fast, json=body, headers=admin)
    full = await two.post(two.full, json=body, headers=admin)
    assert fast.json()["errors"]
    assert (fast.status_code, fast.text) == (full.status_code, full.text)
    assert len(_fast_answers(caplog)) == 1


async def test_each_variable_set_gets_its_own_answer(
    demo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A known document remembers its plan's parameters per variable set (schema.fast_path.bind):
    sets sent in turn, the same set with its keys in another order, and bad variables again,
    all answered as the full path answers them (response cache off: every request executes)."""
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    sets: list[dict[str, Any]] = [
        {"hashtag": "leadership"},
        {"hashtag": "engagement", "kinds": ["COURSE"]},
        {"kinds": ["COURSE"], "hashtag": "engagement"},
        {"hashtag": "leadership", "kinds": ["PODCAST_EPISODE", "ARTICLE"]},
        {"hashtag": 5},
        {"hashtag": "a\u0000b"},
    ]
    async for two in _two(demo_url, response_cache_bytes=0):
        admin = {"Authorization": f"Bearer {issue_token(two.settings, Role.ADMIN, 'a@x.test')}"}
        answers: dict[str, set[str]] = {}
        for _ in range(3):
            for variables in sets:
                body = {"query": RESOURCE_LINKS, "variables": variables}
                fast = await two.post(two.fast, json=body, headers=admin)
                full = await two.post(two.full, json=body, headers=admin)
                assert (fast.status_code, fast.text) == (full.status_code, full.text), variables
                answers.setdefault(repr(sorted(variables.items())), set()).add(fast.text)
        assert all(len(texts) == 1 for texts in answers.values())
        assert len({next(iter(texts)) for texts in answers.values()}) == 5  # 2 and 3 agree
        # Every valid set after the document's first request: 3 rounds x 4 sets, less one.
        assert len(_fast_answers(caplog)) == 11


async def test_get_answers_and_not_modified(two: Two, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    admin = {"Authorization": f"Bearer {issue_token(two.settings, Role.ADMIN, 'admin@x.test')}"}
    params = {"query": RESOURCE_LINKS, "variables": '{"hashtag": "leadership"}'}
    answers = [await two.fast.get("/graphql", params=params, headers=admin) for _ in range(2)]
    full = await two.full.get("/graphql", params=params, headers=admin)
    assert len(_fast_answers(caplog)) == 1
    for answer in answers:
        assert (answer.status_code, answer.text) == (full.status_code, full.text)
        assert [answer.headers.get(h) for h in CACHING] == [full.headers.get(h) for h in CACHING]
    tag = answers[1].headers["etag"]
    two.statements.clear()
    again = await two.fast.get("/graphql", params=params, headers={**admin, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["vary"] == full.headers["vary"]
    assert not [s for s in two.statements if "query_budget" in s]  # a 304 draws nothing
    assert any("not modified" in r.getMessage() for r in caplog.records)


async def test_the_fast_path_is_counted_on_metrics(
    two: Two, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")

    def counted(text: str, series: str) -> float:
        found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
        return float(found.group(1)) if found else 0.0

    ok = 'campaign_graphql_requests_total{operation="ResourceLinks",outcome="ok"}'
    answered = 'campaign_graphql_fast_path_total{outcome="answered"}'
    lms = {"X-API-Key": await create_api_key(two.db, "counted", Role.LMS)}
    before = (await two.fast.get("/metrics")).text
    body = {**_links("change"), "operationName": "ResourceLinks"}
    for _ in range(3):
        response = await two.post(two.fast, json=body, headers={**lms, "X-Request-ID": "r-1"})
        assert response.headers["x-request-id"] == "r-1"
    after = (await two.fast.get("/metrics")).text
    assert len(_fast_answers(caplog)) == 2
    assert counted(after, ok) - counted(before, ok) == 3
    assert counted(after, answered) - counted(before, answered) == 2


async def test_persisted_documents_by_hash(two: Two, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    manager = {
        "Authorization": f"Bearer {issue_token(two.settings, Role.MANAGER, SUBJECTS['MANAGER'])}"
    }
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(RESOURCE_LINKS)}}
    hash_only = {"variables": {"hashtag": "leadership"}, "extensions": persisted}
    unknown = await two.post(two.fast, json=hash_only, headers=manager)
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await two.post(
        two.fast, json={**_links(), "extensions": persisted}, headers=manager
    )
    assert "errors" not in registered.json()
    answers = [await two.post(two.fast, json=hash_only, headers=manager) for _ in range(2)]
    full = await two.post(two.full, json=hash_only, headers=manager)
    assert len(_fast_answers(caplog)) == 2  # known since the registering request: both fast
    for answer in answers:
        assert (answer.status_code, answer.text) == (full.status_code, full.text)


async def test_trusted_documents_refuse_what_is_not_registered(
    demo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    async for two in _two(demo_url, trusted_documents=True):
        await register_documents(two.db, {sha256_of(RESOURCE_LINKS): RESOURCE_LINKS})
        member = {
            "Authorization": f"Bearer {issue_token(two.settings, Role.MEMBER, SUBJECTS['MEMBER'])}"
        }
        for _ in range(2):
            answer = await two.post(two.fast, json=_links(), headers=member)
            assert "errors" not in answer.json()
        assert len(_fast_answers(caplog)) == 1
        other = {"query": RESOURCE_LINKS + " ", "variables": {"hashtag": "leadership"}}
        refused = await two.post(two.fast, json=other, headers=member)
        full = await two.post(two.full, json=other, headers=member)
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        assert (refused.status_code, refused.text) == (full.status_code, full.text)
        assert len(_fast_answers(caplog)) == 1
