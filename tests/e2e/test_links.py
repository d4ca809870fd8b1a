"""Tracked links: ``/r/<token>`` redirects to the resource and counts the click, per client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from api.db.session import Database
from api.domain import demo_content as content
from tests.e2e.conftest import Api

RESOURCE = "query($id: ID!) { node(id: $id) { ... on Resource { clickCount } } }"


async def _resource(api: Api, url: str = content.HBR) -> dict[str, Any]:
    data = await api.data("{ resources(first: 100) { nodes { id url trackedUrl clickCount } } }")
    return next(r for r in data["resources"]["nodes"] if r["url"] == url)


def _path(tracked_url: str) -> str:
    parts = urlsplit(tracked_url)
    assert parts.path.startswith("/r/"), tracked_url
    assert len(parts.path) > len("/r/")
    return parts.path


async def _clicks(api: Api, resource_id: str) -> int:
    return (await api.data(RESOURCE, {"id": resource_id}))["node"]["clickCount"]  # type: ignore[no-any-return]


async def _clients(db: Database, url: str) -> list[str]:
    async with db.reading() as session:
        rows = await session.execute(
            sa.text(
                "SELECT c.client FROM resource_click c JOIN resource r ON r.id = c.resource_id "
                "WHERE r.url = :url ORDER BY c.id"
            ),
            {"url": url},
        )
        return [row.client for row in rows]


async def test_tracked_link_redirects_to_the_resource(api: Api) -> None:
    resource = await _resource(api)
    assert resource["trackedUrl"].startswith("http://campaign.test/r/")
    response = await api.client.get(_path(resource["trackedUrl"]), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == content.HBR == resource["url"]


async def test_each_follow_counts_one_click(api: Api) -> None:
    resource = await _resource(api)
    # The demo data has clicks already: counts go up from there.
    start = sum(n for url, _client, n in content.CLICKS if url == content.HBR)
    assert resource["clickCount"] == start
    for expected in (start + 1, start + 2, start + 3):
        response = await api.client.get(
            _path(resource["trackedUrl"]), params={"client": "mobile"}, follow_redirects=False
        )
        assert response.status_code == 302
        assert await _clicks(api, resource["id"]) == expected


async def test_head_redirects_without_counting_a_click(api: Api, demo_db: Database) -> None:
    # Link-preview bots probe with HEAD: the same redirect, but nobody followed the link.
    resource = await _resource(api)
    before = await _clients(demo_db, content.HBR)
    for _ in range(3):
        response = await api.client.head(
            _path(resource["trackedUrl"]), params={"client": "web"}, follow_redirects=False
        )
        assert response.status_code == 302
        assert response.headers["location"] == content.HBR
    assert await _clients(demo_db, content.HBR) == before
    assert await _clicks(api, resource["id"]) == resource["clickCount"]
    assert (await api.client.head("/r/no-such-token")).status_code == 404
    # A GET after the probes still counts as before.
    response = await api.client.get(_path(resource["trackedUrl"]), follow_redirects=False)
    assert response.status_code == 302
    assert await _clicks(api, resource["id"]) == resource["clickCount"] + 1


async def test_clicks_record_the_client(api: Api, demo_db: Database) -> None:
    resource = await _resource(api)
    before = await _clients(demo_db, content.HBR)
    path = _path(resource["trackedUrl"])
    for query in ("?client=mobile", "?client=Web", "", "?client=lms"):
        response = await api.client.get(path + query, follow_redirects=False)
        assert response.status_code == 302
    assert await _clients(demo_db, content.HBR) == [*before, "mobile", "web", "unknown", "lms"]


async def test_weird_client_values_are_recorded_as_unknown(api: Api, demo_db: Database) -> None:
    resource = await _resource(api)
    before = await _clients(demo_db, content.HBR)
    path = _path(resource["trackedUrl"])
    weird = ["<script>", "mobile'; DROP TABLE resource_click; --", "x" * 33, "mobile app", ""]
    for client in weird:
        response = await api.client.get(path, params={"client": client}, follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == content.HBR
    assert await _clients(demo_db, content.HBR) == [*before, *(["unknown"] * len(weird))]


async def test_unknown_token_is_not_found_and_counts_nothing(api: Api, demo_db: Database) -> None:
    async with demo_db.reading() as session:
        before = (
            await session.execute(sa.text("SELECT count(*) FROM resource_click"))
        ).scalar_one()
    for token in ("no-such-token", "r", "%3Cscript%3E"):
        response = await api.client.get(f"/r/{token}", follow_redirects=False)
        assert response.status_code == 404
        assert "location" not in response.headers
    async with demo_db.reading() as session:
        after = (await session.execute(sa.text("SELECT count(*) FROM resource_click"))).scalar_one()
    assert after == before


async def test_links_need_no_credentials(api: Api) -> None:
    resource = await _resource(api, content.COURSE_CHANGE)
    # A browser following a link from the microblog sends no token, and no cookie either.
    assert "authorization" not in {k.lower() for k in api.client.headers}
    response = await api.client.get(
        _path(resource["trackedUrl"]), params={"client": "lms"}, follow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["location"] == content.COURSE_CHANGE
    assert await _clicks(api, resource["id"]) == resource["clickCount"] + 1


async def test_every_resource_has_its_own_link(api: Api) -> None:
    data = await api.data("{ resources(first: 100) { nodes { url trackedUrl } } }")
    nodes = data["resources"]["nodes"]
    assert len({r["trackedUrl"] for r in nodes}) == len(nodes)
    for resource in nodes:
        response = await api.client.get(_path(resource["trackedUrl"]), follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == resource["url"]
