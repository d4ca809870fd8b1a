"""The ASGI app over HTTP (httpx.ASGITransport), with tokens per role and a SQL counter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from api.app import create_app
from api.auth import issue_token
from api.db.session import Database
from api.domain.enums import Role
from api.settings import Settings

OPERATIONS = Path(__file__).resolve().parents[1] / "contract" / "operations"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def settings_for(url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=url,
        jwt_secret=SECRET,
        public_url="http://campaign.test",
        graphiql=True,
        # Tests count the statements an app sends: no background read of the stored documents
        # at start (tests/e2e/test_warm_up.py turns it on).
        warm_up_documents=False,
    )


def operation(path: str) -> str:
    return (OPERATIONS / path).read_text()


@dataclass
class Api:
    """A GraphQL client for one app; ``statements`` counts SQL sent since the last reset."""

    client: httpx.AsyncClient
    settings: Settings
    statements: list[str] = field(default_factory=list)
    # The app's engines and pools, for tests that watch connections and transactions.
    db: Database | None = None

    def token(self, role: Role = Role.ADMIN, subject: str = "admin@example.com") -> str:
        return issue_token(self.settings, role, subject)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: Role | None = Role.ADMIN,
        subject: str = "admin@example.com",
        operation_name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if role is not None:
            all_headers["Authorization"] = f"Bearer {self.token(role, subject)}"
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}, "operationName": operation_name},
            headers=all_headers,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The ``data`` of a response that must have no errors."""
        body = await self.post(query, variables, **kwargs)
        assert "errors" not in body, body["errors"]
        return body["data"]


async def _api(url: str, **overrides: Any) -> AsyncIterator[Api]:
    """The app on ``url``; ``overrides``: settings to change (e.g. ``response_cache_bytes=0``)."""
    settings = settings_for(url).model_copy(update=overrides)
    db = Database.connect(url, pool_size=5)
    app = create_app(settings, db=db)
    api = Api(client=None, settings=settings, db=db)  # type: ignore[arg-type]

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        api.statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://campaign.test"
        ) as client:
            api.client = client
            yield api
    event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    await db.dispose()


@pytest.fixture
async def api(demo_url: str) -> AsyncIterator[Api]:
    """The app on a demo database of this test's own (for tests that write)."""
    async for a in _api(demo_url):
        yield a


@pytest.fixture
async def reader(shared_demo_url: str) -> AsyncIterator[Api]:
    """The app on the shared demo database; tests using it must not write."""
    async for a in _api(shared_demo_url):
        yield a


@pytest.fixture
async def empty_api(fresh_url: str) -> AsyncIterator[Api]:
    async for a in _api(fresh_url):
        yield a


@pytest.fixture(scope="session")
def graphiql_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GraphiQL's pinned assets, fetched with npm as `campaign graphiql install` does (npm's
    cache makes later runs quick). A machine without npm fails here, loudly."""
    from api.graphiql.assets import InstallError, install

    folder = tmp_path_factory.mktemp("graphiql-assets")
    try:
        install(folder)
    except InstallError as exc:
        pytest.fail(f"GraphiQL's assets could not be fetched: {exc}")
    return folder
