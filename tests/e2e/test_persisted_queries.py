"""Apollo's automatic persisted queries over GET and POST, stored for every API process, and
trusted documents (CAMPAIGN_TRUSTED_DOCUMENTS): only registered documents run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from click.testing import CliRunner

from api.app import create_app
from api.auth import create_api_key
from api.cli import main
from api.db.session import Database
from api.domain.enums import Role
from api.persisted import register_documents
from api.simulator.server import BackgroundServer
from tests.e2e.conftest import OPERATIONS, SECRET, Api, operation, settings_for
from tests.node import ensure_npm_packages, node

QUERY = "query Campaigns { campaigns(first: 5) { edges { node { name slug } } } }"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


def auth(api: Api, role: Role = Role.MEMBER) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(role, 'ann@example.com')}"}


async def get_by_hash(
    client: httpx.AsyncClient, text: str, headers: dict[str, str], **params: str
) -> httpx.Response:
    """What Apollo's link sends with useGETForHashedQueries: the hash, never the text."""
    query = {"extensions": json.dumps(persisted(text)), **params}
    return await client.get("/graphql", params=query, headers=headers)


async def stored(db: Database) -> dict[str, str]:
    async with db.reading() as session:
        rows = await session.execute(sa.text("SELECT sha256, document FROM persisted_query"))
        return {h: d for h, d in rows.all()}


async def test_apq_registers_then_reuses_over_get_on_every_replica(
    api: Api, demo_db: Database
) -> None:
    headers = auth(api)
    # 1. Only the hash: unknown, in the shape Apollo's link looks for.
    first = await get_by_hash(api.client, QUERY, headers)
    assert first.status_code == 200
    error = first.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    # 2. The link's retry: text and hash, over POST; it runs and is stored.
    body = {"query": QUERY, "extensions": persisted(QUERY), "operationName": "Campaigns"}
    registered = await api.client.post("/graphql", json=body, headers=headers)
    assert registered.status_code == 200
    data = registered.json()["data"]
    assert data["campaigns"]["edges"]
    assert await stored(demo_db) == {sha256(QUERY): QUERY}

    # 3. The hash alone now runs the stored text, over GET.
    again = await get_by_hash(api.client, QUERY, headers, operationName="Campaigns")
    assert again.status_code == 200
    assert again.json()["data"] == data

    # 4. Another API process (its own engines and memory) finds it in PostgreSQL.
    settings = settings_for(api.settings.database_url or "")
    other = create_app(settings)
    async with LifespanManager(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            elsewhere = await get_by_hash(client, QUERY, headers, operationName="Campaigns")
    assert elsewhere.json()["data"] == data


async def test_apq_refuses_a_wrong_hash_and_stores_nothing_invalid_or_anonymous(
    api: Api, demo_db: Database
) -> None:
    wrong = {"query": QUERY, "extensions": persisted("{ __typename }")}
    response = await api.client.post("/graphql", json=wrong, headers=auth(api))
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    response = await api.client.post(
        "/graphql", json=wrong, headers={**auth(api), "Accept": APOLLO_ACCEPT}
    )
    assert response.status_code == 400

    invalid = "{ noSuchField }"
    body = {"query": invalid, "extensions": persisted(invalid)}
    response = await api.client.post("/graphql", json=body, headers=auth(api))
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    # Registration does not bypass authentication.
    body = {"query": QUERY, "extensions": persisted(QUERY)}
    response = await api.client.post("/graphql", json=body)
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await get_by_hash(api.client, QUERY, {})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    bad = {"query": QUERY, "extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}
    response = await api.client.post("/graphql", json=bad, headers=auth(api))
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_INVALID"
    assert await stored(demo_db) == {}


@asynccontextmanager
async def trusted_app(url: str, **settings: Any) -> AsyncIterator[tuple[Api, Database]]:
    configured = settings_for(url).model_copy(update={"trusted_documents": True, **settings})
    db = Database.connect(url, pool_size=2)
    app = create_app(configured, db=db)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as c:
            yield Api(client=c, settings=configured), db
    await db.dispose()


@pytest.fixture
async def trusted(demo_url: str) -> AsyncIterator[tuple[Api, Database]]:
    async with trusted_app(demo_url) as app:
        yield app


async def test_trusted_documents_run_only_registered_documents(
    trusted: tuple[Api, Database],
) -> None:
    api, db = trusted
    headers = {**auth(api), "Accept": APOLLO_ACCEPT}
    # Unregistered text is refused, with or without its hash, and is not stored.
    response = await api.client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    body = {"query": QUERY, "extensions": persisted(QUERY)}
    response = await api.client.post("/graphql", json=body, headers=headers)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert await stored(db) == {}
    response = await get_by_hash(api.client, QUERY, headers)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    # Registered at deploy time, it runs by hash and as text.
    await register_documents(db, {sha256(QUERY): QUERY})
    response = await get_by_hash(api.client, QUERY, headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["campaigns"]["edges"]
    response = await api.client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 200, response.text


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_trusted_mode_lets_admins_run_their_own_documents_unregistered(
    demo_url: str,
) -> None:
    async with trusted_app(demo_url) as (api, db):
        admin = auth(api, Role.ADMIN)
        # GraphiQL sends the text alone; Apollo's link sends it with its hash: both run.
        response = await api.client.post("/graphql", json={"query": QUERY}, headers=admin)
        assert response.json()["data"]["campaigns"]["edges"], response.text
        body = {"query": QUERY, "extensions": persisted(QUERY)}
        response = await api.client.post("/graphql", json=body, headers=admin)
        assert response.json()["data"]["campaigns"]["edges"], response.text
        # A hash that is not the text's is still refused.
        wrong = {"query": QUERY, "extensions": persisted("{ __typename }")}
        response = await api.client.post("/graphql", json=wrong, headers=admin)
        assert code_of(response) == "PERSISTED_QUERY_HASH_MISMATCH"
        # Running it registered nothing: no one else may run it, nor fetch it by hash.
        assert await stored(db) == {}
        response = await get_by_hash(api.client, QUERY, admin)
        assert code_of(response) == "PERSISTED_QUERY_NOT_FOUND"
        lms_key = await create_api_key(db, "lms", Role.LMS)
        others = {
            "manager": auth(api, Role.MANAGER),
            "member": auth(api, Role.MEMBER),
            "lms key": {"X-API-Key": lms_key},
        }
        for who, headers in others.items():
            for sent in ({"query": QUERY}, body):
                response = await api.client.post("/graphql", json=sent, headers=headers)
                assert code_of(response) == "PERSISTED_QUERY_NOT_ALLOWED", (who, response.text)
        # Anonymous requests are refused as before (they run nothing without credentials).
        response = await api.client.post("/graphql", json={"query": QUERY})
        assert code_of(response) == "UNAUTHENTICATED"
        assert "data" not in response.json() or response.json()["data"] is None
        assert await stored(db) == {}


async def test_trusted_mode_without_the_admin_exemption_refuses_admins_too(
    demo_url: str,
) -> None:
    async with trusted_app(demo_url, trusted_documents_admin_adhoc=False) as (api, db):
        admin = auth(api, Role.ADMIN)
        response = await api.client.post("/graphql", json={"query": QUERY}, headers=admin)
        assert code_of(response) == "PERSISTED_QUERY_NOT_ALLOWED"
        body = {"query": QUERY, "extensions": persisted(QUERY)}
        response = await api.client.post("/graphql", json=body, headers=admin)
        assert code_of(response) == "PERSISTED_QUERY_NOT_ALLOWED"
        assert await stored(db) == {}
        # Registered documents still run for admins.
        await register_documents(db, {sha256(QUERY): QUERY})
        response = await api.client.post("/graphql", json={"query": QUERY}, headers=admin)
        assert response.json()["data"]["campaigns"]["edges"], response.text


def test_the_cli_registers_a_folder_and_prints_the_hashes(fresh_url: str) -> None:
    folders = [OPERATIONS / name for name in ("admin", "lms", "mobile")]
    result = CliRunner().invoke(
        main,
        ["persisted", "register", *map(str, folders)],
        env={"CAMPAIGN_JWT_SECRET": SECRET, "DATABASE_URL": fresh_url},
    )
    assert result.exit_code == 0, result.output
    printed = dict(line.split("  ", 1) for line in result.stdout.splitlines())
    files = sorted(f for folder in folders for f in folder.rglob("*.graphql"))
    assert printed == {sha256(f.read_text()): str(f) for f in files}
    # Hashes are of the exact text, as Apollo's link computes them.
    assert sha256(operation("mobile/TopicFeed.graphql")) in printed


def test_the_cli_registers_nothing_when_a_document_is_invalid(
    fresh_url: str, tmp_path: Path
) -> None:
    (tmp_path / "Good.graphql").write_text(QUERY)
    (tmp_path / "Bad.graphql").write_text("{ noSuchField }")
    env = {"CAMPAIGN_JWT_SECRET": SECRET, "DATABASE_URL": fresh_url}
    result = CliRunner().invoke(main, ["persisted", "register", str(tmp_path)], env=env)
    assert result.exit_code != 0
    assert "Bad.graphql" in result.output
    assert "noSuchField" in result.output
    listed = CliRunner().invoke(main, ["persisted", "register", str(tmp_path / "none")], env=env)
    assert listed.exit_code != 0


def test_apollo_clients_persisted_query_link_registers_then_gets_by_hash(demo_url: str) -> None:
    """The real link (Apollo Client 4, useGETForHashedQueries) against uvicorn."""
    js = ensure_npm_packages()
    settings = settings_for(demo_url).model_copy(update={"db_pool_size": 2})
    token = Api(client=None, settings=settings).token(Role.MANAGER, "ann@example.com")  # type: ignore[arg-type]
    with BackgroundServer(create_app(settings)) as server:
        done = subprocess.run(
            [
                node(),
                "apq.mjs",
                f"{server.url}/graphql",
                token,
                str(OPERATIONS / "mobile" / "TopicFeed.graphql"),
                json.dumps({"hashtag": "leadership"}),
            ],
            cwd=js,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    first, second = report["first"], report["second"]
    # First client: the hash alone is unknown, so the link sends the text with it (POST).
    assert [(e["method"], e["sentQuery"]) for e in first["exchanges"]] == [
        ("GET", False),
        ("POST", True),
    ]
    assert first["exchanges"][0]["status"] == 404  # graphql-response+json: a request error
    # A second client (say, after a restart of the app) gets it by hash alone, over GET.
    assert [(e["method"], e["sentQuery"], e["status"]) for e in second["exchanges"]] == [
        ("GET", False, 200)
    ]
    assert second["exchanges"][0]["etag"]
    assert first["error"] is None
    assert second["error"] is None
    assert second["data"] == first["data"]
    assert first["data"]["topic"]["hashtag"] == "leadership"
