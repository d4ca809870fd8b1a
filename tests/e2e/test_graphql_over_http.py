"""GraphQL over HTTP: application/graphql-response+json when the client prefers it (request
errors as 4xx without `data`), application/json as before, and the graphql-http audit."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from api.app import create_app
from api.domain.enums import Role
from api.graphql import prefers_graphql_response
from api.simulator.server import BackgroundServer
from tests.e2e.conftest import Api, settings_for
from tests.node import ensure_npm_packages, node

GRAPHQL_RESPONSE = "application/graphql-response+json"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        (GRAPHQL_RESPONSE, True),
        (APOLLO_ACCEPT, True),
        ("application/json, application/graphql-response+json;q=0.5", False),
        ("application/graphql-response+json;q=0", False),
        ("application/graphql-response+json;q=oops, */*", False),
    ],
)
def test_the_media_type_follows_the_clients_preference(accept: str | None, expected: bool) -> None:
    assert prefers_graphql_response(accept) is expected


async def _post(
    api: Api, body: dict[str, object], accept: str | None, **kw: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token(Role.ADMIN)}"}
    if accept:
        headers["Accept"] = accept
    headers.update(kw.pop("headers", {}))  # type: ignore[arg-type]
    return await api.client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("query", "code"),
    [("{", "GRAPHQL_PARSE_FAILED"), ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED")],
)
async def test_request_errors_are_400_without_data_in_graphql_response_json(
    reader: Api, query: str, code: str
) -> None:
    response = await _post(reader, {"query": query}, APOLLO_ACCEPT)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code

    # application/json is unchanged: 200, `data: null`, the same error.
    response = await _post(reader, {"query": query}, "application/json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_a_bad_variable_is_400_and_anonymous_is_401(reader: Api) -> None:
    query = "query($first: Int) { campaigns(first: $first) { totalCount } }"
    response = await _post(reader, {"query": query, "variables": {"first": "x"}}, GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    response = await reader.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "data" not in response.json()


async def test_answers_that_executed_are_200_in_graphql_response_json(reader: Api) -> None:
    response = await _post(
        reader, {"query": "{ campaigns(first: 1) { totalCount } }"}, APOLLO_ACCEPT
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["data"]["campaigns"]["totalCount"] >= 1

    # A field error (a node id that is not one) comes with `data`, so 200 as well.
    response = await _post(reader, {"query": '{ node(id: "nope") { id } }'}, APOLLO_ACCEPT)
    body = response.json()
    assert response.status_code == 200, body
    assert "data" in body


async def test_mutations_over_get_are_405(reader: Api) -> None:
    response = await reader.client.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"Authorization": f"Bearer {reader.token()}", "Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_the_graphql_http_audit_passes_without_errors_or_warnings(demo_url: str) -> None:
    js = ensure_npm_packages()
    # The audit sends its 61 requests at once: a small pool keeps this test's connections
    # to the shared server few (they queue for it instead).
    settings = settings_for(demo_url).model_copy(update={"db_pool_size": 2})
    token = Api(client=None, settings=settings).token(Role.ADMIN)  # type: ignore[arg-type]
    with BackgroundServer(create_app(settings)) as server:
        done = subprocess.run(
            [node(), "audit.mjs", f"{server.url}/graphql", token],
            cwd=js,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["problems"] == [], json.dumps(report["problems"], indent=1)
    assert report["total"] >= 50
    assert report["ok"] == report["total"]
