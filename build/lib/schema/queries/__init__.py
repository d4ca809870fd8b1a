"""The Query root, composed from per-area mixins."""

import strawberry

from schema.queries.campaigns import CampaignQueries
from schema.queries.nodes import NodeQueries
from schema.queries.people import PeopleQueries
from schema.queries.posts import PostQueries
from schema.queries.sync import SyncQueries


@strawberry.type
class Query(NodeQueries, CampaignQueries, PeopleQueries, PostQueries, SyncQueries):
    pass
