"""Tokens from the company's identity provider: RS256 JWTs checked against its JWKS.

The provider publishes its public keys at a JWKS URL and names the signing key of each token
in the token's header (``kid``).  Keys are fetched with httpx (never blocking the event loop),
kept for ``jwks_cache_seconds``, and fetched again at once when a token names a kid we do not
hold: that is how a rotation arrives.  Refetches on unknown kids are spaced by
``jwks_min_refresh_seconds`` so that tokens with made-up kids cannot make us flood the IdP,
and concurrent misses share one fetch.

The role comes from a claim (``jwt_role_claim``, default ``roles``), a string or a list of
strings; each value is looked up case-insensitively in ``jwt_role_values`` and the most
privileged match wins (ADMIN > MANAGER > MEMBER).  A token with no known role is refused: the
provider vouches for who someone is, the mapping decides what they may do here.  The person is
named by ``jwt_subject_claim`` (default ``email``), so managers are matched to their topics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt

from api.domain.enums import Role
from api.domain.principal import Principal
from api.errors import Unauthenticated
from api.settings import Settings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
# Most privileged first: a user holding several roles gets the first that matches.
PRIVILEGE = (Role.ADMIN, Role.MANAGER, Role.MEMBER)


class JwksKeys:
    """The provider's signing keys by kid, cached and refreshed as described above."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.transport = transport
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        if self._fresh() and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            # Another request may have fetched while this one waited.
            if (kid not in self._keys or not self._fresh()) and self._may_refetch():
                await self._fetch()
            found = self._keys.get(kid)
        if found is not None:
            return found
        if not self._keys:
            raise Unauthenticated(
                "The identity provider's keys could not be fetched; try again shortly."
            )
        raise Unauthenticated(
            f"The token's signing key `{kid}` is not one of the identity provider's keys."
        )

    def _fresh(self) -> bool:
        return self._fetched_at is not None and (
            self.clock() - self._fetched_at < self.cache_seconds
        )

    def _may_refetch(self) -> bool:
        # Attempts, failed ones too, are spaced by the floor: neither made-up kids nor an
        # unreachable IdP make every request wait on a fetch.
        return self._attempted_at is None or (
            self.clock() - self._attempted_at >= self.min_refresh_seconds
        )

    async def _fetch(self) -> None:
        # Imported here: only a service given a JWKS URL fetches keys, and httpx (which brings
        # its command line's rich and pygments) would add megabytes to every API process.
        import httpx

        self.fetches += 1
        self._attempted_at = self.clock()
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=5.0) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            # Keep what we had (stale keys still verify): an IdP outage must not sign
            # everybody out.
            log.warning("could not fetch the identity provider's keys from %s: %s", self.url, exc)
            return
        self._keys = {k.key_id: k for k in keys.keys if k.key_id and _signs(k)}
        self._fetched_at = self._attempted_at


def _signs(key: jwt.PyJWK) -> bool:
    """An RSA key for signatures (the set may also hold encryption or other keys)."""
    return key.public_key_use in (None, "sig") and key.algorithm_name == ALGORITHM


_registry: dict[str, JwksKeys] = {}


def jwks_for(settings: Settings) -> JwksKeys:
    """The process's key cache for the configured JWKS URL (one per URL)."""
    assert settings.jwks_url
    keys = _registry.get(settings.jwks_url)
    if keys is None:
        keys = _registry[settings.jwks_url] = JwksKeys(
            settings.jwks_url,
            cache_seconds=settings.jwks_cache_seconds,
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
        )
    return keys


def role_from(settings: Settings, claims: dict[str, Any]) -> Role:
    value = claims.get(settings.jwt_role_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapping = {k.lower(): Role(v) for k, v in settings.jwt_role_values.items()}
    granted = {mapping[v.lower()] for v in values if isinstance(v, str) and v.lower() in mapping}
    for role in PRIVILEGE:
        if role in granted:
            return role
    raise Unauthenticated(
        f"The token carries no role this service knows in its `{settings.jwt_role_claim}` claim."
    )


async def verify_idp_token(settings: Settings, token: str, kid: str | None) -> Principal:
    """Who a provider's token names; Unauthenticated with the reason otherwise.

    It holds until its `exp` plus the leeway allowed for the provider's clock."""
    if not kid:
        raise Unauthenticated("The token names no signing key (`kid`).")
    key = await jwks_for(settings).key(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=settings.jwt_leeway_seconds,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"The token is not valid: {exc}.") from exc
    role = role_from(settings, claims)
    subject = claims.get(settings.jwt_subject_claim)
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthenticated(f"The token has no `{settings.jwt_subject_claim}` claim.")
    expires_at = float(claims["exp"]) + settings.jwt_leeway_seconds
    return Principal(role=role, subject=subject.strip(), expires_at=expires_at)
