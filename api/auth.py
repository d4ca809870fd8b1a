"""Who is asking: bearer JWTs and integration API keys, mapped to a Principal.

Bearer tokens come in two kinds, told apart by their header's ``alg``:

- HS256, signed with ``jwt_secret`` by this service (``campaign token issue``): ``role``
  (admin, manager, member, lms) and ``sub`` (for managers, their email or person id).
- RS256, from the company's identity provider when ``jwks_url`` is set (``api.idp``).

API keys are random strings whose SHA-256 is stored in ``api_key``; they are how the LMS
integration authenticates.  A key is looked up on the primary at every request, so a revoked
key is refused at once by every API process (the HTTP fast path looks it up in the statement
that draws the request's budget: ``api_key_in``, ``key_principal``).  Its last use is recorded at most once a minute,
by a background task, never on the request's path (``KeyUses``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

from api import idp
from api.db.repositories import api_keys
from api.db.request_session import Reads
from api.db.session import Database
from api.domain.enums import Role
from api.domain.principal import API_KEY_SUBJECT, Principal
from api.errors import Unauthenticated
from api.settings import Settings

log = logging.getLogger(__name__)

API_KEY_PREFIX = "cgk_"
# The role every API key has (``create_api_key``): the LMS integration's.
API_KEY_ROLE = Role.LMS


def issue_token(
    settings: Settings, role: Role, subject: str, ttl_seconds: int | None = None
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value.lower(),
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + (settings.jwt_ttl_seconds if ttl_seconds is None else ttl_seconds),
    }
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def verify_token(settings: Settings, token: str) -> Principal:
    """A token this service signed (HS256)."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={"require": ["exp", "sub", "role"]},
        )
        role = Role(str(claims["role"]).upper())
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthenticated(f"The token is not valid: {exc}.") from exc
    return Principal(role=role, subject=str(claims["sub"]), expires_at=float(claims["exp"]))


# HS256 tokens verified already, by their text and what verifying them depended on (the
# secret, issuer and audience): a client sends the same token with every request, and PyJWT
# spends a good share of a cheap request's CPU checking its signature and segments again.
# What verifying a token decides cannot change for the same text, but for its expiry, which is
# checked again on every use (as PyJWT does: valid while ``exp`` is after now; ``nbf`` and
# ``iat`` only ever become true). Bounded, least recently used first out.
_VERIFIED: OrderedDict[tuple[str, str, str, str | None], Principal] = OrderedDict()
VERIFIED_MAX = 4096


def _verified(
    settings: Settings, token: str
) -> tuple[tuple[str, str, str, str | None], Principal | None]:
    key = (
        token,
        settings.jwt_secret.get_secret_value(),
        settings.jwt_issuer,
        settings.jwt_audience,
    )
    found = _VERIFIED.get(key)
    if found is None:
        return key, None
    if found.expires_at is None or found.expires_at <= time.time():
        del _VERIFIED[key]  # verified again below: refused as expired
        return key, None
    _VERIFIED.move_to_end(key)
    return key, found


async def verify_bearer_token(settings: Settings, token: str) -> Principal:
    """An HS256 token of ours, or an RS256 token of the identity provider when one is set."""
    key, found = _verified(settings, token)
    if found is not None:
        return found
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"The token is not valid: {exc}.") from exc
    algorithm = header.get("alg")
    if algorithm == idp.ALGORITHM and settings.jwks_url:
        return await idp.verify_idp_token(settings, token, header.get("kid"))
    if algorithm != "HS256":
        accepted = "HS256 (this service's)" + (
            " and RS256 (the identity provider's)" if settings.jwks_url else ""
        )
        raise Unauthenticated(
            f"The token's signing algorithm {algorithm!r} is not accepted; tokens are {accepted}."
        )
    principal = verify_token(settings, token)
    _VERIFIED[key] = principal
    while len(_VERIFIED) > VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return principal


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(db: Database, name: str, role: Role) -> str:
    # Keys never expire: only the LMS integration, which may never read people, gets one.
    if role is not API_KEY_ROLE:
        raise ValueError("API keys are for the LMS role only; people use tokens.")
    key = new_api_key()
    async with db.unit_of_work() as session:
        await api_keys.create_key(session, name=name, role=role, key_hash=hash_api_key(key))
    return key


async def list_api_keys(db: Database) -> list[Any]:
    async with db.unit_of_work() as session:
        return await api_keys.list_keys(session)


async def revoke_api_key(db: Database, name_or_id: str) -> list[Any]:
    async with db.unit_of_work() as session:
        return await api_keys.revoke(session, name_or_id)


class KeyUses:
    """Records keys' last use off the requests' path, at most once a minute per key.

    Each process remembers when it last recorded each key and starts a background UPDATE only
    when a minute has passed; the UPDATE itself skips keys another process marked within the
    minute or is marking now (``api_keys.record_use``).  So a key's requests never wait on its
    row lock, and N processes write at most N times a minute per key, usually once.
    """

    INTERVAL_SECONDS = 60.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._recorded: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def used(self, key_id: int) -> None:
        now = time.monotonic()
        last = self._recorded.get(key_id)
        if last is not None and now - last < self.INTERVAL_SECONDS:
            return
        self._recorded[key_id] = now
        task = asyncio.get_running_loop().create_task(self._record([key_id]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, key_ids: Sequence[int]) -> None:
        try:
            async with self.db.unit_of_work() as session:
                await api_keys.record_use(session, key_ids)
        except Exception:
            # Bookkeeping only: the request was served; the next minute tries again.
            for key_id in key_ids:
                self._recorded.pop(key_id, None)
            log.warning("could not record the last use of API keys %s", key_ids, exc_info=True)

    async def drain(self) -> None:
        """Wait for the recordings under way (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


_key_uses: weakref.WeakKeyDictionary[Database, KeyUses] = weakref.WeakKeyDictionary()


def key_uses(db: Database) -> KeyUses:
    """The process's recorder for this database."""
    uses = _key_uses.get(db)
    if uses is None:
        uses = _key_uses[db] = KeyUses(db)
    return uses


KEY_REFUSED = "The API key is not valid or has been revoked."


def key_principal(db: Database, row: api_keys.ActiveKey) -> Principal:
    """The principal of a key its check found active (its use recorded aside, ``KeyUses``)."""
    key_uses(db).used(row.id)
    return Principal(role=row.role, subject=f"{API_KEY_SUBJECT}{row.name}", api_key_id=row.id)


async def verify_api_key(db: Database, key: str, reads: Reads | None = None) -> Principal:
    # Read on the primary, never a replica: a revocation must hold from the moment it commits.
    # A request's own connection (``reads``) runs it in autocommit when that is the primary.
    # A prepared statement, which also reads the data version when the request can use it.
    row = await api_keys.find_active_on(reads or db, hash_api_key(key))
    if row is None:
        raise Unauthenticated(KEY_REFUSED)
    return key_principal(db, row)


def api_key_in(headers: Mapping[str, str]) -> str | None:
    """The API key a request's credentials are, if they are one (as ``authenticate`` reads
    them: ``X-API-Key``, else a bearer credential with the keys' prefix); else None."""
    api_key = headers.get("x-api-key")
    if api_key:
        return api_key
    scheme, _, credential = (headers.get("authorization") or "").partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential.startswith(API_KEY_PREFIX):
        return credential
    return None


async def authenticate(
    settings: Settings,
    db: Database,
    authorization: str | None,
    api_key: str | None,
    reads: Reads | None = None,
) -> Principal | None:
    """The principal of a request; None when it carries no credentials at all. ``reads``: the
    request's connection, for the API key look-up."""
    if api_key:
        return await verify_api_key(db, api_key, reads)
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Use `Authorization: Bearer <token>`.")
    credential = credential.strip()
    if credential.startswith(API_KEY_PREFIX):
        return await verify_api_key(db, credential, reads)
    return await verify_bearer_token(settings, credential)


async def credentials_of(
    settings: Settings, db: Database, headers: Mapping[str, str], reads: Reads | None = None
) -> tuple[Principal | None, str | None]:
    """A request's principal (None: no credentials at all), or the reason its credentials were
    refused, which is answered as UNAUTHENTICATED before the document is validated."""
    try:
        principal = await authenticate(
            settings, db, headers.get("authorization"), headers.get("x-api-key"), reads
        )
    except Unauthenticated as exc:
        return None, exc.message
    return principal, None
