"""Who is asking, once authenticated: a role and a subject.

A plain value below every layer, so the GraphQL schema can read it without depending on how
credentials are checked (`api.auth` makes principals; `schema` only reads them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.domain.enums import Role

# An integration key's subject is this prefix and the key's name.
API_KEY_SUBJECT = "api-key:"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    # A manager's email or person id; "api-key:<name>" for an integration key.
    subject: str
    # How long the credentials hold, for a connection that outlives its request (a
    # WebSocket, api/live/credentials.py); not part of who is asking, so not compared.
    # When a bearer token stops being accepted (Unix time: its `exp`, plus the leeway the
    # identity provider's tokens get); None for credentials that do not expire.
    expires_at: float | None = field(default=None, compare=False)
    # The API key's row, checked again while a connection lasts (a key may be revoked).
    api_key_id: int | None = field(default=None, compare=False)
