"""Who is asking: bearer JWTs (HS256) and integration API keys, mapped to a Principal.

A JWT carries ``role`` (admin, manager, member, lms) and ``sub`` (for managers, their email or
person id, so the topics they manage are known).  API keys are random strings whose SHA-256
is stored in ``api_key``; they are how the LMS integration authenticates.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import jwt
import sqlalchemy as sa

from api.db import models
from api.db.session import Database
from api.domain.enums import Role
from api.domain.principal import Principal
from api.errors import Unauthenticated
from api.settings import Settings

API_KEY_PREFIX = "cgk_"


def issue_token(
    settings: Settings, role: Role, subject: str, ttl_seconds: int | None = None
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "role": role.value.lower(),
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + (settings.jwt_ttl_seconds if ttl_seconds is None else ttl_seconds),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def verify_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "role"]},
        )
        role = Role(str(claims["role"]).upper())
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthenticated(f"The token is not valid: {exc}.") from exc
    return Principal(role=role, subject=str(claims["sub"]))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(db: Database, name: str, role: Role) -> str:
    # Keys never expire: only the LMS integration, which may never read people, gets one.
    if role is not Role.LMS:
        raise ValueError("API keys are for the LMS role only; people use tokens.")
    key = new_api_key()
    async with db.unit_of_work() as session:
        session.add(models.ApiKey(name=name, role=role, key_hash=hash_api_key(key)))
    return key


async def verify_api_key(db: Database, key: str) -> Principal:
    K = models.ApiKey
    async with db.unit_of_work() as session:
        row = (
            await session.execute(
                sa.update(K)
                .where(K.key_hash == hash_api_key(key), K.revoked_at.is_(None))
                .values(last_used_at=sa.func.now())
                .returning(K.role, K.name)
            )
        ).first()
    if row is None:
        raise Unauthenticated("The API key is not valid or has been revoked.")
    return Principal(role=row.role, subject=f"api-key:{row.name}")


async def authenticate(
    settings: Settings, db: Database, authorization: str | None, api_key: str | None
) -> Principal | None:
    """The principal of a request; None when it carries no credentials at all."""
    if api_key:
        return await verify_api_key(db, api_key)
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Use `Authorization: Bearer <token>`.")
    credential = credential.strip()
    if credential.startswith(API_KEY_PREFIX):
        return await verify_api_key(db, credential)
    return verify_token(settings, credential)
