"""The Mutation root, composed from per-area mixins."""

import strawberry

from schema.mutations.campaigns import CampaignMutations
from schema.mutations.content import ContentMutations
from schema.mutations.sync import SyncMutations


@strawberry.type
class Mutation(CampaignMutations, ContentMutations, SyncMutations):
    pass
