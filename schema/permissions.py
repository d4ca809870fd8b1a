"""Field permissions from the role table in DESIGN.md, with ``extensions.code``.

    role     may
    ADMIN    everything
    MANAGER  read all; mutate resources, promotions and post kinds of topics they manage
    MEMBER   read campaign state; no emails; no mutations
    LMS      read topics, resources and the posts that promote them; never people

The checks are synchronous and read only the context, so they cost nothing measurable.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from api.domain.enums import Role
from api.errors import Forbidden, Unauthenticated


class _RoleIn(BasePermission):
    roles: frozenset[Role] = frozenset()
    what = "this field"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise Unauthenticated(
                info.context.auth_error or "Sign in: send `Authorization: Bearer <token>`."
            )
        if principal.role not in self.roles:
            raise Forbidden(f"The {principal.role.value} role may not read {self.what}.")
        return True


def allow(*roles: Role, what: str = "this field") -> type[BasePermission]:
    return type(
        f"Allow{''.join(r.value.title() for r in roles)}",
        (_RoleIn,),
        {"roles": frozenset(roles), "what": what},
    )


EVERYONE = allow(Role.ADMIN, Role.MANAGER, Role.MEMBER, Role.LMS)
STAFF = allow(Role.ADMIN, Role.MANAGER, Role.MEMBER, what="campaign state")
PEOPLE = allow(Role.ADMIN, Role.MANAGER, Role.MEMBER, what="people")
EMAILS = allow(Role.ADMIN, Role.MANAGER, what="emails")
EDITORS = allow(Role.ADMIN, Role.MANAGER, what="this mutation")
ADMINS = allow(Role.ADMIN, what="this mutation")
SYNC_STATE = allow(Role.ADMIN, what="the sync state")
