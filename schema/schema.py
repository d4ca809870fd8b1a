"""Building the schema, once per process."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from schema.budgets import QueryCostAndBudget
from schema.errors import ErrorCodes
from schema.extensions import IntrospectionForAdmins
from schema.mutations import Mutation
from schema.queries import Query
from schema.types.campaign import Campaign
from schema.types.person import Group, Person
from schema.types.post import Post
from schema.types.promotion import Promotion
from schema.types.resource import Resource
from schema.types.topic import Topic, TopicManager


@lru_cache(maxsize=1)
def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        # Node implementations are reachable only through the interface; name them here.
        types=[Campaign, Group, Person, Post, Promotion, Resource, Topic, TopicManager],
        extensions=[
            ErrorCodes,
            IntrospectionForAdmins,
            lambda: QueryDepthLimiter(max_depth=12),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=5000),
            QueryCostAndBudget,
        ],
        config=StrawberryConfig(relay_max_results=100),
    )
