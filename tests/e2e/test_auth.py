"""Who may ask what: anonymous, bad and good credentials, and the role table of DESIGN.md."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from api.auth import create_api_key, issue_token
from api.db.session import Database
from api.domain import demo_content as content
from api.domain.enums import Role
from tests.e2e.conftest import SECRET, Api, operation

SETUP = operation("admin/SetUpCampaign.graphql")
TOPICS = "{ topics { totalCount nodes { hashtag } } }"
TABLES = ["campaign", "topic", "resource", "resource_topic", "promotion", "promotion_topic"]


def _codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "admin@example.com",
        "role": "admin",
        "iss": "campaign-graph",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _craft(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), secret, algorithm="HS256")


async def _counts(db: Database) -> dict[str, int]:
    async with db.reading() as session:
        return {
            t: (await session.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in TABLES
        }


async def _lms_headers(db: Database) -> dict[str, str]:
    return {"X-API-Key": await create_api_key(db, "lms-test", Role.LMS)}


def _lms_jwt(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(Role.LMS, 'lms-integration')}"}


# -- anonymous and bad credentials --------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        TOPICS,
        '{ campaign(slug: "learning-community") { name } }',
        "{ people { nodes { fullName } } }",
        "{ resources(first: 5) { nodes { title url } } }",
    ],
)
async def test_anonymous_requests_are_unauthenticated_and_get_no_data(
    reader: Api, query: str
) -> None:
    body = await reader.post(query, role=None)
    assert body["errors"], body
    assert _codes(body) == {"UNAUTHENTICATED"}
    # Nothing of the campaign leaks: either no data at all, or only nulls.
    data = body.get("data")
    assert data is None or all(value is None for value in data.values()), data


async def test_anonymous_mutation_is_unauthenticated_and_writes_nothing(
    api: Api, demo_db: Database
) -> None:
    before = await _counts(demo_db)
    body = await api.post(
        SETUP,
        {"input": {"slug": "sneaky", "name": "Sneaky", "startsOn": "2027-01-01"}},
        operation_name="CreateCampaign",
        role=None,
    )
    assert body.get("data") is None
    assert _codes(body) == {"UNAUTHENTICATED"}
    assert await _counts(demo_db) == before


BAD_TOKENS: dict[str, Any] = {
    "bad-signature": lambda: _craft(secret="another-secret-that-is-long-enough-for-hs256-xyz"),
    "unknown-role": lambda: _craft(role="superuser"),
    "no-role": lambda: _craft(role=None),
    "no-subject": lambda: _craft(sub=None),
    "no-expiry": lambda: _craft(exp=None),
    "wrong-issuer": lambda: _craft(iss="someone-else"),
    "expired-crafted": lambda: _craft(exp=int(time.time()) - 3600),
    "unexpected-algorithm": lambda: jwt.encode(_claims(), SECRET, algorithm="HS384"),
    "unsigned": lambda: jwt.encode(_claims(), None, algorithm="none"),
    "garbage": lambda: "not-a-jwt-at-all",
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_bad_tokens_are_unauthenticated(reader: Api, kind: str) -> None:
    token = BAD_TOKENS[kind]()
    body = await reader.post(TOPICS, role=None, headers={"Authorization": f"Bearer {token}"})
    assert _codes(body) == {"UNAUTHENTICATED"}
    assert body.get("data") is None


async def test_expired_token_is_unauthenticated(reader: Api) -> None:
    token = issue_token(reader.settings, Role.ADMIN, "admin@example.com", ttl_seconds=-10)
    body = await reader.post(TOPICS, role=None, headers={"Authorization": f"Bearer {token}"})
    assert _codes(body) == {"UNAUTHENTICATED"}
    assert body.get("data") is None
    # The message tells the client why, so it knows to get a new token.
    assert "expired" in body["errors"][0]["message"].lower()


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic YWRtaW46YWRtaW4=", id="basic"),
        pytest.param("Token {token}", id="other-scheme-with-valid-token"),
        pytest.param("{token}", id="bare-valid-token"),
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer    ", id="bearer-blank"),
    ],
)
async def test_non_bearer_authorization_is_unauthenticated(reader: Api, authorization: str) -> None:
    header = authorization.format(token=reader.token(Role.ADMIN))
    body = await reader.post(TOPICS, role=None, headers={"Authorization": header})
    assert _codes(body) == {"UNAUTHENTICATED"}
    assert body.get("data") is None


async def test_bearer_scheme_is_case_insensitive(reader: Api) -> None:
    token = reader.token(Role.MEMBER, "member@example.com")
    body = await reader.post(TOPICS, role=None, headers={"Authorization": f"bearer {token}"})
    assert "errors" not in body, body
    assert body["data"]["topics"]["totalCount"] == len(content.TOPICS)


# -- members ------------------------------------------------------------------------------------
async def test_valid_member_token_reads_campaign_state(reader: Api) -> None:
    data = await reader.data(TOPICS, role=Role.MEMBER, subject="someone@example.com")
    assert data["topics"]["totalCount"] == len(content.TOPICS)
    assert sorted(t["hashtag"] for t in data["topics"]["nodes"]) == sorted(
        t[0] for t in content.TOPICS
    )


MEMBER_MUTATIONS = [
    ("CreateCampaign", {"slug": "x", "name": "x", "startsOn": "2027-01-01"}),
    ("CreateTopic", {"campaignId": "Q2FtcGFpZ246MQ==", "hashtag": "x", "name": "x"}),
    ("AddResource", {"kind": "LINK", "title": "x", "url": "https://x.example.com", "topicIds": []}),
    (
        "RecordPromotion",
        {"campaignId": "Q2FtcGFpZ246MQ==", "kind": "OTHER", "title": "x", "heldOn": "2026-10-10"},
    ),
]


@pytest.mark.parametrize(("name", "input"), MEMBER_MUTATIONS, ids=[m[0] for m in MEMBER_MUTATIONS])
async def test_members_cannot_mutate(
    api: Api, demo_db: Database, name: str, input: dict[str, Any]
) -> None:
    before = await _counts(demo_db)
    body = await api.post(
        SETUP,
        {"input": input},
        operation_name=name,
        role=Role.MEMBER,
        subject="priya.raman@example.com",  # a topic manager, but holding a member token
    )
    assert body.get("data") is None
    assert _codes(body) == {"FORBIDDEN"}
    assert await _counts(demo_db) == before


# -- the LMS integration: topics and resources, never people ------------------------------------
PEOPLE_QUERIES = {
    "people": "{ people(first: 5) { nodes { fullName } } }",
    "post-author": '{ topic(hashtag: "leadership") { posts(first: 3) { nodes { id author { fullName } } } } }',
    "topic-managers": '{ topic(hashtag: "leadership") { managers { person { fullName } } } }',
    "campaign-owner": '{ topic(hashtag: "leadership") { campaign { owner { fullName } } } }',
}


async def _person_id(api: Api) -> str:
    data = await api.data('{ people(search: "Raman") { nodes { id } } }')
    return data["people"]["nodes"][0]["id"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("credential", ["api-key", "jwt"])
@pytest.mark.parametrize("what", sorted(PEOPLE_QUERIES))
async def test_lms_cannot_read_people(
    api: Api, demo_db: Database, credential: str, what: str
) -> None:
    headers = await _lms_headers(demo_db) if credential == "api-key" else _lms_jwt(api)
    body = await api.post(PEOPLE_QUERIES[what], role=None, headers=headers)
    assert body.get("errors"), body
    assert _codes(body) == {"FORBIDDEN"}
    assert "Raman" not in str(body.get("data"))
    assert "Whitfield" not in str(body.get("data"))


@pytest.mark.parametrize("credential", ["api-key", "jwt"])
async def test_lms_cannot_refetch_a_person_by_id(
    api: Api, demo_db: Database, credential: str
) -> None:
    person = await _person_id(api)
    headers = await _lms_headers(demo_db) if credential == "api-key" else _lms_jwt(api)
    query = "query($id: ID!) { node(id: $id) { id ... on Person { fullName email } } }"
    body = await api.post(query, {"id": person}, role=None, headers=headers)
    assert _codes(body) == {"FORBIDDEN"}
    assert body["data"] == {"node": None}
    body = await api.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Person { fullName } } }",
        {"ids": [person]},
        role=None,
        headers=headers,
    )
    assert _codes(body) == {"FORBIDDEN"}
    assert "Raman" not in str(body.get("data"))


@pytest.mark.parametrize("credential", ["api-key", "jwt"])
async def test_lms_reads_topics_and_resources(api: Api, demo_db: Database, credential: str) -> None:
    headers = await _lms_headers(demo_db) if credential == "api-key" else _lms_jwt(api)
    data = await api.data(
        "{ topics { totalCount nodes { hashtag name } }"
        '  topic(hashtag: "engagement") { name resources { title url } } '
        "  resources(first: 50) { totalCount nodes { title url } } }",
        role=None,
        headers=headers,
    )
    assert data["topics"]["totalCount"] == len(content.TOPICS)
    assert {t["hashtag"] for t in data["topics"]["nodes"]} == {t[0] for t in content.TOPICS}
    assert data["topic"]["name"] == "Engagement"
    expected = {r[2] for r in content.RESOURCES if "engagement" in r[6]}
    assert {r["url"] for r in data["topic"]["resources"]} == expected
    assert data["resources"]["totalCount"] >= len(content.RESOURCES)
    assert {r[2] for r in content.RESOURCES} <= {r["url"] for r in data["resources"]["nodes"]}


async def test_lms_cannot_mutate(api: Api, demo_db: Database) -> None:
    headers = await _lms_headers(demo_db)
    before = await _counts(demo_db)
    body = await api.post(
        SETUP,
        {"input": {"kind": "LINK", "title": "x", "url": "https://lms.example.com/x"}},
        operation_name="AddResource",
        role=None,
        headers=headers,
    )
    assert body.get("data") is None
    assert _codes(body) == {"FORBIDDEN"}
    assert await _counts(demo_db) == before


async def test_revoked_api_key_is_unauthenticated(api: Api, demo_db: Database) -> None:
    headers = await _lms_headers(demo_db)
    assert (await api.data(TOPICS, role=None, headers=headers))["topics"]["totalCount"]
    async with demo_db.unit_of_work() as session:
        await session.execute(sa.text("UPDATE api_key SET revoked_at = now()"))
    body = await api.post(TOPICS, role=None, headers=headers)
    assert _codes(body) == {"UNAUTHENTICATED"}
    assert body.get("data") is None


async def test_api_key_works_as_a_bearer_credential(api: Api, demo_db: Database) -> None:
    key = (await _lms_headers(demo_db))["X-API-Key"]
    data = await api.data(TOPICS, role=None, headers={"Authorization": f"Bearer {key}"})
    assert data["topics"]["totalCount"] == len(content.TOPICS)
    body = await api.post(
        PEOPLE_QUERIES["people"], role=None, headers={"Authorization": f"Bearer {key}"}
    )
    assert _codes(body) == {"FORBIDDEN"}


# -- managers whose subject is nobody we know ---------------------------------------------------
async def _ids(api: Api) -> dict[str, str]:
    data = await api.data(
        '{ topic(hashtag: "leadership") { id posts(first: 1) { nodes { id } } }'
        ' campaign(slug: "learning-community") { id } }'
    )
    return {
        "topic": data["topic"]["id"],
        "post": data["topic"]["posts"]["nodes"][0]["id"],
        "campaign": data["campaign"]["id"],
    }


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param("nobody@example.com", id="unknown-email"),
        pytest.param("987654", id="unknown-person-id"),
        # OIDC providers issue numeric subjects longer than a BIGINT (Google's have 21 digits).
        pytest.param("99999999999999999999999", id="person-id-out-of-range"),
        pytest.param("\u00b2", id="non-ascii-digit"),
    ],
)
async def test_managers_unknown_to_us_cannot_mutate_topics(
    api: Api, demo_db: Database, subject: str
) -> None:
    ids = await _ids(api)
    manager = {"role": Role.MANAGER, "subject": subject}
    before = await _counts(demo_db)
    inputs = {
        "AddResource": {
            "kind": "LINK",
            "title": "Mine now",
            "url": "https://x.example.com/mine",
            "topicIds": [ids["topic"]],
        },
        "RecordPromotion": {
            "campaignId": ids["campaign"],
            "kind": "OTHER",
            "title": "Mine",
            "heldOn": "2026-10-20",
            "topicIds": [ids["topic"]],
        },
        "ClassifyPost": {"postId": ids["post"], "kind": "QUOTE"},
    }
    for name, input in inputs.items():
        data = await api.data(SETUP, {"input": input}, operation_name=name, **manager)
        payload = next(iter(data.values()))
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"], (name, payload)
        assert all(v is None for k, v in payload.items() if k != "userErrors"), (name, payload)
    assert await _counts(demo_db) == before
    post = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Post { kindSetByHand } } }", {"id": ids["post"]}
    )
    assert post["node"]["kindSetByHand"] is False


async def test_api_keys_are_only_for_the_lms(demo_db: Database) -> None:
    # A key never expires; an admin or manager credential that never expires is refused.
    for role in (Role.ADMIN, Role.MANAGER, Role.MEMBER):
        with pytest.raises(ValueError, match="LMS"):
            await create_api_key(demo_db, "ops", role)
