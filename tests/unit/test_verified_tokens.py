"""Bearer tokens verified once are not verified again (api.auth._VERIFIED), but for their expiry:
a remembered token is refused once it expires, and only under the settings it was verified
with (the secret, issuer and audience)."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from api import auth
from api.auth import issue_token, verify_bearer_token
from api.domain.enums import Role
from api.errors import Unauthenticated
from api.settings import Settings


def _settings(secret: str = "s" * 32, **extra: object) -> Settings:
    return Settings(  # type: ignore[arg-type]
        environment="test", jwt_secret=secret, public_url="http://campaign.test", **extra
    )


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    settings = _settings()
    token = issue_token(settings, Role.MEMBER, "priya@example.com", ttl_seconds=1)
    first = asyncio.run(verify_bearer_token(settings, token))
    assert (first.role, first.subject) == (Role.MEMBER, "priya@example.com")
    again = asyncio.run(verify_bearer_token(settings, token))
    assert again is first  # remembered, not verified again
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    deadline = time.monotonic() + 5
    while time.time() < expires + 0.01 and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(Unauthenticated, match="expired"):
        asyncio.run(verify_bearer_token(settings, token))


async def test_a_remembered_token_holds_only_under_its_own_settings() -> None:
    settings = _settings()
    token = issue_token(settings, Role.ADMIN, "admin@example.com", ttl_seconds=600)
    await verify_bearer_token(settings, token)
    for other in (
        _settings("t" * 32),
        _settings(jwt_issuer="someone-else"),
        _settings(jwt_audience="another-service"),
    ):
        with pytest.raises(Unauthenticated):
            await verify_bearer_token(other, token)
    assert (await verify_bearer_token(settings, token)).role is Role.ADMIN


async def test_forged_tokens_are_never_remembered() -> None:
    settings = _settings()
    token = issue_token(settings, Role.MEMBER, "priya@example.com", ttl_seconds=600)
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "role": "admin"},
        "x" * 32,
        algorithm="HS256",
    )
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await verify_bearer_token(settings, forged)
    assert all(key[0] != forged for key in auth._VERIFIED)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_MAX", 3)
    settings = _settings()
    for n in range(5):
        token = issue_token(settings, Role.MEMBER, f"p{n}@example.com", ttl_seconds=600)
        asyncio.run(verify_bearer_token(settings, token))
    assert len(auth._VERIFIED) <= 3
