"""Tokens from the company's identity provider: RS256, checked against its JWKS by `kid`.

The JWKS endpoint is served by a tiny HTTP server in this test (the IdP is an external
dependency); the keys, signatures and every check are real (`cryptography` makes the keys).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api import idp
from api.app import create_app
from api.db.session import Database
from api.domain.enums import Role
from api.errors import Unauthenticated
from api.settings import Settings
from tests.e2e.conftest import settings_for

ISSUER = "https://login.example.com/tenant-1/v2.0"
AUDIENCE = "api://campaign-graph"
TOPICS = "{ topics { totalCount } }"
CREATE = (
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {"
    " campaign { slug } userErrors { code } } }"
)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEYS = {kid: _new_key() for kid in ("first", "second", "stranger")}


def _jwk(kid: str) -> dict[str, Any]:
    public = RSAAlgorithm.to_jwk(KEYS[kid].public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class Jwks:
    """What the IdP publishes, and how often it was asked."""

    kids: list[str]
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self) -> bytes:
        with self.lock:
            self.hits += 1
            return json.dumps({"keys": [_jwk(k) for k in self.kids]}).encode()


@pytest.fixture
def jwks() -> Iterator[tuple[Jwks, str]]:
    published = Jwks(kids=["first"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = published.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # keep pytest's output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield published, f"http://127.0.0.1:{server.server_address[1]}/discovery/keys"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _settings(url: str, jwks_url: str, **overrides: Any) -> Settings:
    update = {
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwks_url": jwks_url,
        # Every unknown kid refetches here; the floor has its own test below.
        "jwks_min_refresh_seconds": 0,
        **overrides,
    }
    return settings_for(url).model_copy(update=update)


@dataclass
class Client:
    http: httpx.AsyncClient
    settings: Settings

    async def post(self, token: str, query: str = TOPICS, variables: Any = None) -> Any:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


async def _client(settings: Settings) -> AsyncIterator[Client]:
    db = Database.connect(settings.database_url or "", pool_size=2)
    app = create_app(settings, db=db)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campaign.test") as http:
            yield Client(http, settings)
    await db.dispose()


@pytest.fixture
async def client(shared_demo_url: str, jwks: tuple[Jwks, str]) -> AsyncIterator[Client]:
    async for c in _client(_settings(shared_demo_url, jwks[1])):
        yield c


def _token(kid: str | None = "first", signer: str | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "00u1a2b3c4",
        "email": "priya.raman@example.com",
        "roles": ["member"],
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, KEYS[signer or kid or "first"], algorithm="RS256", headers=headers)


def _unauthenticated(body: Any) -> str:
    assert body.get("data") is None, body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}, body
    return str(body["errors"][0]["message"])


# -- accepted -----------------------------------------------------------------------------------
async def test_an_idp_token_reads_as_its_role(client: Client) -> None:
    body = await client.post(_token())
    assert "errors" not in body, body
    assert body["data"]["topics"]["totalCount"] > 0
    # A member may not write.
    body = await client.post(
        _token(), CREATE, {"input": {"slug": "x", "name": "x", "startsOn": "2027-01-01"}}
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_service_s_own_tokens_still_work_beside_the_idp(client: Client) -> None:
    from api.auth import issue_token

    own = issue_token(client.settings, Role.MEMBER, "someone@example.com")
    assert "errors" not in await client.post(own)


async def test_keys_are_cached(client: Client, jwks: tuple[Jwks, str]) -> None:
    for _ in range(5):
        assert "errors" not in await client.post(_token())
    assert jwks[0].hits == 1


async def test_rotation_is_picked_up_by_kid(client: Client, jwks: tuple[Jwks, str]) -> None:
    published, _ = jwks
    assert "errors" not in await client.post(_token("first"))
    # The IdP publishes a new key and signs with it; the old one is retired.
    published.kids = ["second"]
    assert "errors" not in await client.post(_token("second"))
    assert published.hits == 2
    message = _unauthenticated(await client.post(_token("first")))
    assert "`first`" in message
    assert "not one of the identity provider's keys" in message


# -- refused, each with its reason --------------------------------------------------------------
REFUSED = {
    "wrong-issuer": (lambda: _token(iss="https://login.example.com/other/v2.0"), "issuer"),
    "wrong-audience": (lambda: _token(aud="api://someone-else"), "audience"),
    "no-audience": (lambda: _token(aud=None), "aud"),
    "expired": (lambda: _token(exp=int(time.time()) - 3600), "expired"),
    "not-yet-valid": (lambda: _token(nbf=int(time.time()) + 3600), "not yet valid"),
    "forged-with-a-known-kid": (lambda: _token("first", signer="stranger"), "signature"),
    "unknown-kid": (lambda: _token("stranger"), "`stranger`"),
    "no-kid": (lambda: _token(kid=None), "kid"),
    "no-role": (lambda: _token(roles=None), "`roles` claim"),
    "unknown-role": (lambda: _token(roles=["superuser"]), "`roles` claim"),
    "no-email": (lambda: _token(email=None), "`email` claim"),
}


@pytest.mark.parametrize("kind", list(REFUSED))
async def test_bad_idp_tokens_are_unauthenticated_with_the_reason(
    client: Client, kind: str
) -> None:
    make, reason = REFUSED[kind]
    message = _unauthenticated(await client.post(make()))
    assert reason.lower() in message.lower(), message


async def test_a_public_key_used_as_an_hmac_secret_is_refused(client: Client) -> None:
    # Algorithm confusion: the IdP's public key is public, so it must never verify HS256.
    pem = (
        KEYS["first"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "role": "admin", "exp": 2**31}
    header = json.dumps({"alg": "HS256", "typ": "JWT", "kid": "first"}).encode()
    signing = (
        jwt.utils.base64url_encode(header)
        + b"."
        + jwt.utils.base64url_encode(json.dumps(claims).encode())
    )
    signature = jwt.utils.base64url_encode(hmac.new(pem, signing, hashlib.sha256).digest())
    token = (signing + b"." + signature).decode()
    assert "Signature" in _unauthenticated(await client.post(token))


async def test_without_a_jwks_url_rs256_tokens_are_refused(reader: Any) -> None:
    body = await reader.post(TOPICS, role=None, headers={"Authorization": f"Bearer {_token()}"})
    assert "algorithm" in _unauthenticated(body).lower()


# -- roles --------------------------------------------------------------------------------------
async def test_roles_are_mapped_by_configuration(demo_url: str, jwks: tuple[Jwks, str]) -> None:
    settings = _settings(
        demo_url,
        jwks[1],
        jwt_role_claim="groups",
        jwt_role_values={"Campaign.Admins": "ADMIN", "Campaign.Managers": "MANAGER"},
        jwt_subject_claim="preferred_username",
    )
    async for c in _client(settings):
        admin = _token(groups=["Everyone", "campaign.admins"], preferred_username="ops@example.com")
        body = await c.post(
            admin, CREATE, {"input": {"slug": "idp-made", "name": "x", "startsOn": "2027-01-01"}}
        )
        assert body["data"]["createCampaign"] == {
            "campaign": {"slug": "idp-made"},
            "userErrors": [],
        }
        # The default claim is not read once another is configured.
        assert "`groups` claim" in _unauthenticated(await c.post(_token(roles=["admin"])))


def _role(settings: Settings, value: Any) -> Role:
    return idp.role_from(settings, {settings.jwt_role_claim: value})


def test_the_most_privileged_known_role_wins() -> None:
    settings = Settings()
    assert _role(settings, ["member", "MANAGER", "unknown"]) is Role.MANAGER
    assert _role(settings, ["admin", "member"]) is Role.ADMIN
    assert _role(settings, "Member") is Role.MEMBER
    # The LMS is not a role a person's token can carry: the LMS uses an API key.
    settings = Settings(jwt_role_values={"lms": "MEMBER"})
    assert _role(settings, "lms") is Role.MEMBER


def test_a_jwks_url_needs_an_audience() -> None:
    with pytest.raises(ValueError, match="CAMPAIGN_JWT_AUDIENCE"):
        Settings(jwks_url="https://login.example.com/keys")
    with pytest.raises(ValueError, match="ADMIN"):
        Settings(jwt_role_values={"x": "LMS"})


# -- the key cache, without the app -------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_made_up_kids_do_not_flood_the_idp(jwks: tuple[Jwks, str]) -> None:
    published, url = jwks
    clock = FakeClock()
    keys = idp.JwksKeys(url, cache_seconds=300, min_refresh_seconds=10, clock=clock)
    assert (await keys.key("first")).key_id == "first"
    for n in range(20):
        with pytest.raises(Unauthenticated):
            await keys.key(f"made-up-{n}")
    assert published.hits == 1
    # After the floor, a miss fetches again (a rotation may have happened).
    clock.now += 10
    published.kids = ["first", "second"]
    assert (await keys.key("second")).key_id == "second"
    assert published.hits == 2
    # Past the cache's life, keys are fetched again even for a known kid.
    clock.now += 300
    await keys.key("first")
    assert published.hits == 3


async def test_an_unreachable_idp_keeps_the_keys_it_gave(jwks: tuple[Jwks, str]) -> None:
    _, url = jwks
    clock = FakeClock()
    keys = idp.JwksKeys(url, cache_seconds=60, min_refresh_seconds=5, clock=clock)
    await keys.key("first")
    keys.transport = httpx.MockTransport(lambda request: httpx.Response(503))
    clock.now += 61
    assert (await keys.key("first")).key_id == "first"  # stale, but still the IdP's key
    # With nothing fetched ever, the reason is given.
    empty = idp.JwksKeys(url, transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    with pytest.raises(Unauthenticated, match="could not be fetched"):
        await empty.key("first")
