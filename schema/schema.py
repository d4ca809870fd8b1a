"""Building the schema, once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig

from schema.budgets import QueryCostAndBudget
from schema.compiled import CompiledPlans
from schema.errors import ErrorCodes, log_errors
from schema.extensions import Defence, IntrospectionForAdmins, ParseCache
from schema.kept_answers import KeptAnswers
from schema.limits import Limits
from schema.mutations import Mutation
from schema.operations import SubscriptionsOverWebSocket
from schema.queries import Query
from schema.subscriptions import EVENT_TYPES, Subscription
from schema.types.campaign import Campaign
from schema.types.person import Group, Person
from schema.types.post import Post
from schema.types.promotion import Promotion
from schema.types.resource import Resource
from schema.types.topic import Topic, TopicManager

# The largest client operation has under 300 tokens and GraphiQL's introspection about 200;
# an over-long document is parsed only this far (twice, see ParseCache), ~20 ms on a busy core.
MAX_TOKENS = 2000
LIMITS = Limits(max_depth=12, max_aliases=30, max_fields=500, max_repeats=10)


class CampaignSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        log_errors(errors, execution_context)


@lru_cache(maxsize=1)
def build_schema() -> strawberry.Schema:
    # Extensions run in this order; the order of defence is in schema/extensions.py.
    return CampaignSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Node implementations and events are reachable only through their interfaces.
        types=[
            *(Campaign, Group, Person, Post, Promotion, Resource, Topic, TopicManager),
            *EVENT_TYPES,
        ],
        extensions=[
            ErrorCodes,
            IntrospectionForAdmins,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            ParseCache,
            lambda: Defence(LIMITS),
            SubscriptionsOverWebSocket,
            QueryCostAndBudget,  # after validation, before any resolver runs
            KeptAnswers,  # after the budget is drawn: a kept answer costs what an executed one does
            CompiledPlans,  # last: answers a query from one SQL statement when it can
        ],
        config=StrawberryConfig(relay_max_results=100),
    )
