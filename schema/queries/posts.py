"""Posts and resources at the root: search, filters, the LMS's resource links."""

from __future__ import annotations

import dataclasses

import strawberry

from api.db.pagination import Direction, Page
from api.db.repositories import resources
from api.db.repositories.scopes import Scope
from schema.context import Info
from schema.inputs import PostFilterInput, PostOrder, ResourceFilterInput
from schema.pagination import Connection, root_connection
from schema.permissions import EVERYONE, STAFF, is_lms
from schema.resolvers import posts_connection
from schema.types.post import Post
from schema.types.resource import Resource


@strawberry.type
class PostQueries:
    @strawberry.field(
        permission_classes=[STAFF],
        description="Thread starters; with `filter.text`, ranked full-text search unless ordered.",
    )
    async def posts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: PostFilterInput | None = None,
        order_by: PostOrder | None = None,
    ) -> Connection[Post]:
        return await posts_connection(info, Scope.ALL, 0, first, after, order_by, filter)

    @strawberry.field(permission_classes=[EVERYONE], description="Learning resources.")
    async def resources(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ResourceFilterInput | None = None,
    ) -> Connection[Resource]:
        flt = filter.to_filter() if filter is not None else resources.ResourceFilter()
        flt = dataclasses.replace(flt, public_only=is_lms(info))
        page = Page.build(first, after, direction=Direction.ASC, value_type=int)
        return await root_connection(
            info.context.reads,
            lambda session: resources.page_resources(session, flt, page),
            lambda session: resources.count_resources(session, flt),
            Resource.from_row,
        )
