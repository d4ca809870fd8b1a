"""``node(id:)`` and ``nodes(ids:)``: refetch any object by its global id."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry

from api.domain.enums import Role
from api.errors import ApiError, BadUserInput, Forbidden
from schema.context import Info
from schema.permissions import EVERYONE, is_lms, shown_resources
from schema.types.campaign import Campaign
from schema.types.node import Node, decode_id
from schema.types.person import Group, Person
from schema.types.post import Post
from schema.types.promotion import Promotion
from schema.types.resource import Resource
from schema.types.topic import Topic, TopicManager

MAX_IDS = 100
# type name -> (loader attribute, GraphQL type)
NODE_TYPES: dict[str, tuple[str, Any]] = {
    "Campaign": ("campaign", Campaign),
    "Group": ("group", Group),
    "Person": ("person", Person),
    "Post": ("post", Post),
    "Promotion": ("promotion", Promotion),
    "Resource": ("resource", Resource),
    "Topic": ("topic", Topic),
    "TopicManager": ("topic_manager", TopicManager),
}
# What the LMS integration may refetch: never people, nor campaign internals, and of posts
# only those that promote a resource (checked per post in resolve_node).
LMS_TYPES = frozenset({"Post", "Resource", "Topic"})


async def resolve_node(info: Info, global_id: str) -> Node | None:
    type_name, pk = decode_id(global_id)
    if type_name not in NODE_TYPES:
        raise BadUserInput(f"`{global_id}` is not the id of anything here.", field="id")
    principal = info.context.principal
    if principal is not None and principal.role is Role.LMS and type_name not in LMS_TYPES:
        raise Forbidden(f"The LMS role may not read {type_name} objects.")
    loader_name, gql_type = NODE_TYPES[type_name]
    row = await getattr(info.context.loaders, loader_name).load(pk)
    if row is None:
        return None
    if is_lms(info):
        if type_name == "Resource" and not shown_resources(info, [row]):
            return None  # as if unknown: the LMS never learns that an internal one exists
        # The LMS reads the posts that promote resources, not the rest of the network.
        if type_name == "Post" and not shown_resources(
            info, await info.context.loaders.post_resources.load(row.id)
        ):
            raise Forbidden("The LMS role may read only posts that link a learning resource.")
    return gql_type.from_row(row)


@strawberry.type
class NodeQueries:
    @strawberry.field(permission_classes=[EVERYONE], description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        permission_classes=[EVERYONE],
        description=(
            f"Objects by global id, in order; null for unknown ones. At most {MAX_IDS}. "
            "A malformed or forbidden id is null with an error at its index."
        ),
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_IDS:
            raise BadUserInput(f"At most {MAX_IDS} ids at a time.", field="ids")

        async def one(global_id: str) -> Any:
            try:
                return await resolve_node(info, global_id)
            except ApiError as exc:
                # graphql-core raises an item that is an exception at that item's path, so
                # only this id is null and the error says which one.
                return exc

        return list(await asyncio.gather(*(one(i) for i in ids)))
