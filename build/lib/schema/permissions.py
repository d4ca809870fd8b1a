"""Field permissions from the role table in DESIGN.md, with ``extensions.code``.

    role     may
    ADMIN    everything
    MANAGER  read all; mutate resources, promotions and post kinds of topics they manage
    MEMBER   read campaign state; no emails; no mutations
    LMS      read topics, resources and the posts that promote them; never people

The checks are synchronous and read only the context, so they cost nothing measurable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.permission import BasePermission

from api.domain.enums import Role, Visibility
from api.errors import Forbidden, Unauthenticated


class _RoleIn(BasePermission):
    roles: frozenset[Role] = frozenset()
    what = "this field"
    verb = "read"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise Unauthenticated(
                info.context.auth_error or "Sign in: send `Authorization: Bearer <token>`."
            )
        if principal.role not in self.roles:
            raw = info._raw_info  # graphql-core's info: the parent type's GraphQL name
            what = self.what.format(type=raw.parent_type.name, field=raw.field_name)
            raise Forbidden(f"The {principal.role.value} role may not {self.verb} {what}.")
        return True


def allow(*roles: Role, what: str = "{type}.{field}", verb: str = "read") -> type[BasePermission]:
    """A permission class; ``what`` may name the field as ``{type}`` and ``{field}``."""
    return type(
        f"Allow{''.join(r.value.title() for r in roles)}{verb.title()}",
        (_RoleIn,),
        {"roles": frozenset(roles), "what": what, "verb": verb},
    )


def is_lms(info: Any) -> bool:
    principal = info.context.principal
    return principal is not None and principal.role is Role.LMS


def shown_resources(info: Any, rows: Iterable[Any]) -> list[Any]:
    """The resource rows this reader may see: INTERNAL ones never reach the LMS."""
    if is_lms(info):
        return [row for row in rows if row.visibility is Visibility.PUBLIC]
    return list(rows)


EVERYONE = allow(Role.ADMIN, Role.MANAGER, Role.MEMBER, Role.LMS)
STAFF = allow(Role.ADMIN, Role.MANAGER, Role.MEMBER)
PEOPLE = allow(Role.ADMIN, Role.MANAGER, Role.MEMBER)
EMAILS = allow(Role.ADMIN, Role.MANAGER)
EDITORS = allow(Role.ADMIN, Role.MANAGER, what="{field}", verb="run")
ADMINS = allow(Role.ADMIN, what="{field}", verb="run")
SYNC_STATE = allow(Role.ADMIN)
