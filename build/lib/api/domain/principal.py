"""Who is asking, once authenticated: a role and a subject.

A plain value below every layer, so the GraphQL schema can read it without depending on how
credentials are checked (`api.auth` makes principals; `schema` only reads them).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.domain.enums import Role


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    # A manager's email or person id; "api-key:<name>" for an integration key.
    subject: str
