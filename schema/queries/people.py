"""People and groups: for admins picking managers and groups to track."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories import people
from schema.boundary import SEARCH_LENGTH, limit
from schema.context import Info
from schema.pagination import Connection, root_connection
from schema.permissions import PEOPLE, STAFF
from schema.types.person import Group, Person


@strawberry.type
class PeopleQueries:
    @strawberry.field(
        permission_classes=[PEOPLE],
        description="People by name; `search` matches names, job titles and departments.",
    )
    async def people(
        self,
        info: Info,
        search: Annotated[str | None, strawberry.argument(metadata=limit(SEARCH_LENGTH))] = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Person]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=str)
        return await root_connection(
            info.context.reads,
            lambda session: people.page_people(session, search, page),
            lambda session: people.count_people(session, search),
            Person.from_row,
        )

    @strawberry.field(permission_classes=[STAFF], description="Microblog groups, by name.")
    async def groups(
        self,
        info: Info,
        search: Annotated[str | None, strawberry.argument(metadata=limit(SEARCH_LENGTH))] = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Group]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=str)
        return await root_connection(
            info.context.reads,
            lambda session: people.page_groups(session, search, page),
            lambda session: people.count_groups(session, search),
            Group.from_row,
        )
