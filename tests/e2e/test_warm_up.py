"""Stored documents are prepared for the HTTP fast path when a worker starts (api.graphql
``GraphQLView.warm_up``, schema/fast_path.py ``KnownDocuments.prepare``).

A fresh app over a database holding registered (trusted) documents answers the *first* request
of each contract operation on the fast path, for each role a compiled plan covers, with the
bytes, status and headers the full path gives. A stored document the full pipeline would refuse
or could not answer from a plan is never made known. Start-up and readiness do not wait for the
warm-up. A document registered by another process is prepared once this one reads it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from strawberry.types.execution import ExecutionContext

from api.app import create_app
from api.auth import create_api_key, issue_token
from api.db.session import Database
from api.domain.enums import Role
from api.persisted import register_documents, sha256_of
from api.settings import Settings
from schema.extensions import IntrospectionForAdmins, rules_for
from schema.fast_path import KnownDocuments
from schema.schema import LIMITS, MAX_TOKENS, build_schema
from schema.types.node import encode_id
from tests.e2e.conftest import operation
from tests.e2e.test_compiled import ROLES, SUBJECTS, _ids, _settings

CACHING = ("content-type", "etag", "cache-control", "vary")
CONTRACT = (
    "mobile/TopicFeed",
    "mobile/PostDetail",
    "mobile/Search",
    "lms/ResourceLinks",
    "lms/ResourcePerformance",
    "admin/People",
    "web/CampaignDashboard",
    "web/ContentMix",
    "web/ManagerLeaderboard",
)
# What a compiled plan answers per role (as tests/e2e/test_fast_path.py finds by requests).
BOTH = {"TopicFeed", "PostDetail", "ResourceLinks", "ResourcePerformance", "Search"}
DASHBOARDS = {"CampaignDashboard", "ContentMix", "ManagerLeaderboard"}
COVERED = {
    "ADMIN": {*BOTH, *DASHBOARDS, "People"},
    "MANAGER": {*BOTH, *DASHBOARDS, "People"},
    "MEMBER": {*BOTH, *DASHBOARDS},
    "LMS": {"ResourceLinks", "ResourcePerformance", "PostDetail"},
}


def _fast_answers(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "api.fast_path" and "answered" in r.msg
    ]


def _warm_settings(url: str, **overrides: Any) -> Settings:
    return _settings(url, compiled=True).model_copy(update={"warm_up_documents": True, **overrides})


async def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c.test")


async def _variables(db: Database) -> dict[str, dict[str, Any]]:
    tag = (await _ids(db, "SELECT hashtag FROM topic ORDER BY id LIMIT 1"))[0]
    post = (await _ids(db, "SELECT id FROM post WHERE thread_starter_id IS NULL LIMIT 1"))[0]
    resources = await _ids(db, "SELECT id FROM resource ORDER BY id LIMIT 2")
    slug = (await _ids(db, "SELECT slug FROM campaign ORDER BY id LIMIT 1"))[0]
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"since": (until - timedelta(days=60)).isoformat(), "until": until.isoformat()}
    return {
        "TopicFeed": {"hashtag": tag},
        "PostDetail": {"id": encode_id("Post", post)},
        "Search": {"text": "leadership"},
        "ResourceLinks": {"hashtag": tag},
        "ResourcePerformance": {"ids": [encode_id("Resource", r) for r in resources]},
        "People": {"first": 3, **span},
        "CampaignDashboard": {"slug": slug, **span},
        "ContentMix": {"slug": slug, **span},
        "ManagerLeaderboard": {"slug": slug, **span},
    }


async def _headers(settings: Settings, db: Database) -> dict[str, dict[str, str]]:
    headers = {
        role: {"Authorization": f"Bearer {issue_token(settings, Role(role), subject)}"}
        for role, subject in SUBJECTS.items()
    }
    headers["LMS"] = {"X-API-Key": await create_api_key(db, "lms-warm", Role.LMS)}
    return headers


@pytest.fixture
async def warm(demo_url: str) -> AsyncIterator[tuple[Starlette, Starlette, Database]]:
    """Trusted documents registered, then two fresh apps: warm-up on, and the fast path off."""
    documents = {name: operation(f"{name}.graphql") for name in CONTRACT}
    dbs = [Database.connect(demo_url, pool_size=2) for _ in range(2)]
    await register_documents(dbs[0], {sha256_of(t): t for t in documents.values()})
    settings = _warm_settings(demo_url, trusted_documents=True)
    apps = [
        create_app(settings, db=dbs[0]),
        create_app(settings.model_copy(update={"fast_path": False}), db=dbs[1]),
    ]
    try:
        async with LifespanManager(apps[0]), LifespanManager(apps[1]):
            yield apps[0], apps[1], dbs[0]
    finally:
        for db in dbs:
            await db.dispose()


@pytest.mark.parametrize("role", ROLES)
async def test_the_first_request_of_a_stored_document_takes_the_fast_path(
    warm: tuple[Starlette, Starlette, Database], role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    fast_app, full_app, db = warm
    assert fast_app.state.warming is not None
    assert await fast_app.state.warming > 0
    assert full_app.state.warming is None  # no fast path, nothing to prepare
    headers = (await _headers(fast_app.state.settings, db))[role]
    variables = await _variables(db)
    if role == "LMS":  # the LMS reads topics and resources only: another node's id
        variables["PostDetail"] = {"id": variables["ResourcePerformance"]["ids"][0]}
    async with await _client(fast_app) as fast, await _client(full_app) as full:
        for name in CONTRACT:
            document = operation(f"{name}.graphql")
            short = name.split("/")[1]
            body = {"query": document, "variables": variables[short], "operationName": short}
            before = len(_fast_answers(caplog))
            first = await fast.post("/graphql", json=body, headers=headers)
            expected = await full.post("/graphql", json=body, headers=headers)
            took_fast = len(_fast_answers(caplog)) > before
            assert took_fast == (short in COVERED[role]), (role, short)
            assert (first.status_code, first.text) == (expected.status_code, expected.text)
            assert [first.headers.get(h) for h in CACHING] == [
                expected.headers.get(h) for h in CACHING
            ]
            if took_fast:
                assert "errors" not in first.json(), first.text[:300]
    answered = {m.split()[3] for m in _fast_answers(caplog)}
    assert answered == COVERED[role]


async def test_by_hash_and_unnamed_the_first_request_takes_the_fast_path(
    warm: tuple[Starlette, Starlette, Database], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    fast_app, full_app, db = warm
    await fast_app.state.warming
    member = (await _headers(fast_app.state.settings, db))["MEMBER"]
    links = operation("lms/ResourceLinks.graphql")
    tag = (await _ids(db, "SELECT hashtag FROM topic ORDER BY id LIMIT 1"))[0]
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(links)}}
    params = {"variables": json.dumps({"hashtag": tag}), "extensions": json.dumps(persisted)}
    async with await _client(fast_app) as fast, await _client(full_app) as full:
        by_hash = await fast.get("/graphql", params=params, headers=member)
        expected = await full.get("/graphql", params=params, headers=member)
        unnamed = {"query": links, "variables": {"hashtag": tag}}  # no operationName
        second = await fast.post("/graphql", json=unnamed, headers=member)
        expected_second = await full.post("/graphql", json=unnamed, headers=member)
    assert len(_fast_answers(caplog)) == 2
    assert (by_hash.status_code, by_hash.text) == (expected.status_code, expected.text)
    assert by_hash.headers["etag"] == expected.headers["etag"]
    assert (second.status_code, second.text) == (expected_second.status_code, expected_second.text)


def _kinds(n: int) -> str:
    """A plannable document of about ``n`` tokens."""
    kinds = ", ".join(["COURSE"] * n)
    return (
        f'query Kinds {{ resources(first: 1, filter: {{hashtag: "x", kinds: [{kinds}]}}) '
        "{ totalCount } }"
    )


def _aliased(n: int) -> str:
    """A plannable document with ``n`` aliases."""
    ids = " ".join(f"a{i}: id" for i in range(n))
    return (
        f'query Aliased {{ resources(first: 1, filter: {{hashtag: "x"}}) {{ nodes {{ {ids} }} }} }}'
    )


# Stored documents the full pipeline refuses, or answers without a compiled plan.
NOT_KNOWN = {
    "syntax": "query Broken { topics { nodes { id }",
    "tokens": _kinds(2100),
    "invalid": "query Invalid { noSuchField }",
    "aliases": _aliased(40),
    "mutation": operation("admin/SetUpCampaign.graphql"),
    "subscription": operation("web/CampaignActivity.graphql"),
    "introspection": "query Types { __schema { types { name } } }",
    "no plan": operation("admin/SyncStatus.graphql").split("mutation")[0],
}


def test_the_limits_decide_alone() -> None:
    """The documents over the limits above are known once under them."""
    schema = build_schema()._schema
    for text in (_kinds(100), _aliased(20)):
        known = KnownDocuments()
        assert known.prepare(schema, text, limits=LIMITS, max_tokens=MAX_TOKENS)


@pytest.mark.parametrize("kind", sorted(NOT_KNOWN))
def test_a_document_the_full_path_would_not_plan_is_not_made_known(kind: str) -> None:
    known = KnownDocuments()
    schema = build_schema()._schema
    text = NOT_KNOWN[kind]
    assert known.prepare(schema, text, limits=LIMITS, max_tokens=MAX_TOKENS) == []
    assert len(known) == 0


def test_each_role_and_operation_name_the_full_path_would_plan_is_known() -> None:
    schema = build_schema()._schema
    for name in CONTRACT:
        known = KnownDocuments()
        text = operation(f"{name}.graphql")
        short = name.split("/")[1]
        made = known.prepare(schema, text, limits=LIMITS, max_tokens=MAX_TOKENS)
        roles = {role.value for _, role in made}
        assert roles == {r for r in ROLES if short in COVERED[r]}, short
        assert {n for n, _ in made} == ({short, None} if roles else set())
    # Two operations in one text: each by its name, neither unnamed.
    two = operation("lms/ResourceLinks.graphql") + "\nquery Other { __typename }\n"
    known = KnownDocuments()
    made = known.prepare(schema, two, limits=LIMITS, max_tokens=MAX_TOKENS)
    assert "ResourceLinks" in {n for n, _ in made}
    assert None not in {n for n, _ in made}


@pytest.mark.parametrize("role", list(Role))
def test_the_rules_prepared_with_are_those_a_request_gets(role: Role) -> None:
    """Were Strawberry to validate with other rules, a document could be known that the full
    path refuses: the warm-up takes the rules a request of that role gets."""
    context = SimpleNamespace(principal=SimpleNamespace(role=role))
    ec = ExecutionContext(
        query="{ __typename }", schema=build_schema(), allowed_operations=(), context=context
    )
    extension = IntrospectionForAdmins()
    extension.execution_context = ec
    for _ in extension.on_operation():
        break  # up to its yield, where the operation's steps run
    assert ec.validation_rules == rules_for(role)


def test_preparing_never_pushes_out_a_document_clients_sent() -> None:
    schema = build_schema()._schema
    known = KnownDocuments(maxsize=2)
    sent = operation("mobile/TopicFeed.graphql")
    known.remember(sent, "TopicFeed", Role.MEMBER)
    made = known.prepare(
        schema, operation("lms/ResourceLinks.graphql"), limits=LIMITS, max_tokens=MAX_TOKENS
    )
    assert len(made) == 1
    assert len(known) == 2
    assert known.get(sent, "TopicFeed", Role.MEMBER) is not None


async def test_start_up_and_readiness_do_not_wait_for_the_warm_up(demo_url: str) -> None:
    db = Database.connect(demo_url, pool_size=2)
    links = operation("lms/ResourceLinks.graphql")
    await register_documents(db, {sha256_of(links): links})
    app = create_app(_warm_settings(demo_url), db=db)
    locker = Database.connect(demo_url, pool_size=1)
    try:
        # The stored documents cannot be read while another session holds the table.
        async with locker.engine.connect() as conn, conn.begin():
            await conn.execute(sa.text("LOCK TABLE persisted_query IN ACCESS EXCLUSIVE MODE"))
            async with LifespanManager(app), await _client(app) as client:
                ready = await client.get("/readyz")
                assert ready.status_code == 200, ready.text
                assert ready.json()["status"] == "ready"
                assert not app.state.warming.done()
                await conn.rollback()  # the lock goes: the warm-up reads and prepares
                assert await asyncio.wait_for(app.state.warming, timeout=30) == 8
    finally:
        await locker.dispose()
        await db.dispose()


async def test_a_document_registered_elsewhere_is_prepared_once_read(
    demo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="api.fast_path")
    db = Database.connect(demo_url, pool_size=2)
    settings = _warm_settings(demo_url, trusted_documents=True)
    app = create_app(settings, db=db)
    links = operation("lms/ResourceLinks.graphql")
    tag = (await _ids(db, "SELECT hashtag FROM topic ORDER BY id LIMIT 1"))[0]
    body = {"query": links, "variables": {"hashtag": tag}, "operationName": "ResourceLinks"}
    headers = await _headers(settings, db)
    try:
        async with LifespanManager(app), await _client(app) as client:
            assert await app.state.warming == 0  # nothing stored yet
            # Another process registers it (`campaign persisted register`).
            await register_documents(db, {sha256_of(links): links})
            first = await client.post("/graphql", json=body, headers=headers["MEMBER"])
            assert "errors" not in first.json()
            assert _fast_answers(caplog) == []  # read now: the full path answered
            known = app.state.graphql.fast.known
            for _ in range(500):  # prepared in the background, soon
                if known.get(links, "ResourceLinks", Role.LMS) is not None:
                    break
                await asyncio.sleep(0.01)
            lms = await client.post("/graphql", json=body, headers=headers["LMS"])
            assert "errors" not in lms.json()
            assert len(_fast_answers(caplog)) == 1  # another role's first request: fast
    finally:
        await db.dispose()
