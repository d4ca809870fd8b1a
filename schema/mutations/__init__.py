"""The Mutation root, composed from per-area mixins."""

import strawberry

from schema.mutations.campaigns import CampaignMutations
from schema.mutations.content import ContentMutations


@strawberry.type
class Mutation(CampaignMutations, ContentMutations):
    pass
