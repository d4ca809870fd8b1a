"""GraphiQL over HTTP: the page names only this service's assets, each with its integrity, and
they are served with long cache headers; without them the page says how to get them."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.db.session import Database
from api.graphiql.assets import ASSETS, STATIC_PATH
from tests.e2e.conftest import settings_for

HTML = {"Accept": "text/html"}


class ClientFor(Protocol):
    def __call__(self, folder: Path, *, graphiql: bool = True) -> Awaitable[httpx.AsyncClient]: ...


@pytest.fixture
async def client_for(shared_demo_url: str) -> AsyncIterator[ClientFor]:
    """A client of an app whose GraphiQL assets are in ``folder``."""
    clients: list[tuple[LifespanManager, httpx.AsyncClient, Database]] = []

    async def make(folder: Path, *, graphiql: bool = True) -> httpx.AsyncClient:
        settings = settings_for(shared_demo_url).model_copy(
            update={"graphiql": graphiql, "graphiql_assets_dir": folder}
        )
        db = Database.connect(shared_demo_url, pool_size=2)
        app = create_app(settings, db=db)
        manager = LifespanManager(app)
        await manager.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://campaign.test"
        )
        clients.append((manager, client, db))
        return client

    yield make
    for manager, client, db in clients:
        await client.aclose()
        await manager.__aexit__(None, None, None)
        await db.dispose()


async def test_the_page_loads_only_this_services_assets(
    client_for: ClientFor, graphiql_assets: Path
) -> None:
    client = await client_for(graphiql_assets)
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.lstrip().lower().startswith("<!doctype html")
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources == ["data:,"] + [a.url for a in ASSETS if a.file.kind == "stylesheet"] + [
        a.url for a in ASSETS if a.file.kind == "script"
    ]
    for asset in ASSETS:
        assert f'"{asset.url}" integrity="{asset.file.sri}"' in page
    # No address of another host anywhere in the page (the CDN's page named unpkg.com).
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page), page
    # And the browser is told to load nothing from elsewhere.
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", policy), policy
    assert "connect-src 'self'" in policy


async def test_assets_are_served_whole_and_cached_for_a_year(
    client_for: ClientFor, graphiql_assets: Path
) -> None:
    client = await client_for(graphiql_assets)
    for asset in ASSETS:
        response = await client.get(asset.url, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, asset.url
        assert len(response.content) == asset.file.size
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        kind = "text/css" if asset.file.kind == "stylesheet" else "text/javascript"
        assert response.headers["content-type"].startswith(kind)
    # The 3.5 MB bundle travels gzipped to browsers, which all accept it.
    bundle = next(a for a in ASSETS if a.key.endswith("graphiql.min.js"))
    response = await client.get(bundle.url, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.content) == bundle.file.size  # httpx decoded it
    assert len(gzip.compress(response.content)) < bundle.file.size / 3


async def test_only_the_pinned_files_are_served(
    client_for: ClientFor, graphiql_assets: Path
) -> None:
    (graphiql_assets / "secret.txt").write_text("not an asset")
    client = await client_for(graphiql_assets)
    for path in (
        "secret.txt",
        "graphiql@3.8.3/graphiql.min.js.map",
        "graphiql@3.8.3/../secret.txt",
        "react@18.2.0/package.json",
    ):
        response = await client.get(f"{STATIC_PATH}/{path}")
        assert response.status_code == 404, path


async def test_without_its_assets_the_page_says_how_to_get_them(
    client_for: ClientFor, tmp_path: Path
) -> None:
    client = await client_for(tmp_path / "nothing-here")
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 503
    assert "campaign graphiql install" in response.text
    assert "<script" not in response.text  # and never a CDN in their place
    response = await client.get(ASSETS[0].url)
    assert response.status_code == 404


async def test_no_asset_routes_when_graphiql_is_off(
    client_for: ClientFor, graphiql_assets: Path
) -> None:
    client = await client_for(graphiql_assets, graphiql=False)
    response = await client.get(ASSETS[0].url)
    assert response.status_code == 404
