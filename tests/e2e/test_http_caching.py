"""GET answers carry an ETag from the data version; If-None-Match gets 304 without executing
(one statement: the version), and any write (here a mutation) makes the next GET a 200."""

from __future__ import annotations

import json

import httpx
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.domain.enums import Role
from tests.e2e.conftest import Api, operation, settings_for
from tests.e2e.test_http import UNREACHABLE

CAMPAIGNS = "query Campaigns { campaigns(first: 10) { edges { node { slug name } } } }"
SETUP = operation("admin/SetUpCampaign.graphql")


async def get(
    api: Api,
    query: str,
    *,
    role: Role = Role.MEMBER,
    subject: str = "ann@example.com",
    etag: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token(role, subject)}"}
    if etag:
        headers["If-None-Match"] = etag
    return await api.client.get("/graphql", params={"query": query}, headers=headers)


async def test_an_unchanged_answer_is_304_without_executing(reader: Api) -> None:
    first = await get(reader, CAMPAIGNS)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == "private, no-cache"
    assert "Accept" in first.headers["vary"]

    reader.statements.clear()
    again = await get(reader, CAMPAIGNS, etag=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "private, no-cache"
    # Only the version was read: no resolver, no budget draw.
    assert len(reader.statements) == 1, reader.statements
    assert "data_version" in reader.statements[0]

    # A list of tags, the strong form of a weak tag: compared weakly (RFC 9110).
    listed = await get(reader, CAMPAIGNS, etag=f'"other", {etag.removeprefix("W/")}')
    assert listed.status_code == 304


async def test_the_tag_depends_on_who_asks_and_what(reader: Api) -> None:
    ann = (await get(reader, CAMPAIGNS)).headers["etag"]
    assert (await get(reader, CAMPAIGNS, subject="bob@example.com", etag=ann)).status_code == 200
    assert (await get(reader, CAMPAIGNS, role=Role.ADMIN, etag=ann)).status_code == 200
    other = "query Campaigns { campaigns(first: 9) { edges { node { slug name } } } }"
    assert (await get(reader, other, etag=ann)).status_code == 200
    # Admins' answers depend on the role only.
    admin = (await get(reader, CAMPAIGNS, role=Role.ADMIN)).headers["etag"]
    again = await get(reader, CAMPAIGNS, role=Role.ADMIN, subject="eve@example.com", etag=admin)
    assert again.status_code == 304


async def test_a_mutation_makes_the_next_get_a_200(api: Api) -> None:
    first = await get(api, CAMPAIGNS)
    etag = first.headers["etag"]
    created = await api.data(
        SETUP,
        {"input": {"slug": "etag-test", "name": "ETag test", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
    )
    assert created["createCampaign"]["userErrors"] == []

    after = await get(api, CAMPAIGNS, etag=etag)
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    slugs = [e["node"]["slug"] for e in after.json()["data"]["campaigns"]["edges"]]
    assert "etag-test" in slugs
    assert (await get(api, CAMPAIGNS, etag=after.headers["etag"])).status_code == 304


async def test_a_mutation_refused_with_user_errors_changes_nothing(api: Api) -> None:
    etag = (await get(api, CAMPAIGNS)).headers["etag"]
    refused = await api.data(
        SETUP,
        {"input": {"slug": "Not A Slug!", "name": "x", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
    )
    assert refused["createCampaign"]["userErrors"]
    assert (await get(api, CAMPAIGNS, etag=etag)).status_code == 304


async def test_clock_dependent_errors_and_post_answers_carry_no_tag(reader: Api) -> None:
    status = await get(reader, "{ syncStatus { lagSeconds } }", role=Role.ADMIN)
    assert status.status_code == 200
    assert "etag" not in status.headers
    error = await get(reader, "{ noSuchField }")
    assert "etag" not in error.headers
    posted = await reader.client.post(
        "/graphql",
        json={"query": CAMPAIGNS},
        headers={"Authorization": f"Bearer {reader.token(Role.MEMBER, 'ann@example.com')}"},
    )
    assert "etag" not in posted.headers


async def test_an_unreachable_database_is_an_error_answer_not_a_crash() -> None:
    settings = settings_for(UNREACHABLE)
    token = Api(client=None, settings=settings).token(Role.MEMBER)  # type: ignore[arg-type]
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as c:
            headers = {"Authorization": f"Bearer {token}"}
            response = await c.get("/graphql", params={"query": CAMPAIGNS}, headers=headers)
            assert response.status_code == 200, response.text
            assert "etag" not in response.headers
            code = response.json()["errors"][0]["extensions"]["code"]
            assert code == "INTERNAL_SERVER_ERROR"
            by_hash = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
            params = {"extensions": json.dumps(by_hash)}
            response = await c.get("/graphql", params=params, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["errors"][0]["extensions"]["requestId"]
