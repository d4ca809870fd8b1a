"""People and groups: for admins picking managers and groups to track."""

from __future__ import annotations

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories import people
from schema.context import Info
from schema.pagination import Connection, connection
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
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Person]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=str)
        async with info.context.db.reading() as session:
            result = await people.page_people(session, search, page)

        async def count() -> int:
            async with info.context.db.reading() as session:
                return await people.count_people(session, search)

        return connection(result, Person.from_row, count)

    @strawberry.field(permission_classes=[STAFF], description="Microblog groups, by name.")
    async def groups(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Group]:
        page = Page.build(first, after, direction=Direction.ASC, value_type=str)
        async with info.context.db.reading() as session:
            result = await people.page_groups(session, search, page)

        async def count() -> int:
            async with info.context.db.reading() as session:
                return await people.count_groups(session, search)

        return connection(result, Group.from_row, count)
