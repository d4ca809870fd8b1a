"""GraphQL names and descriptions for the enums the data model defines.

``strawberry.enum`` registers a Python enum in place, so types annotate fields with the data
model's own classes (``api.domain.enums.PostKind``) and the values stay one set.  Importing this
module (``schema.schema`` does) is what gives them their GraphQL names.
"""

from __future__ import annotations

import strawberry

from api.db.pagination import Direction
from api.db.repositories.posts import PostSort
from api.domain import enums
from api.domain.periods import Interval

strawberry.enum(enums.PostKind, description="What a post does for the campaign.")
strawberry.enum(enums.ResourceKind, description="What kind of learning resource it is.")
strawberry.enum(enums.Visibility, description="Who may be shown a resource.")
strawberry.enum(enums.GoalMetric, description="What a campaign goal counts.")
strawberry.enum(enums.PromotionKind, description="Where the community was promoted.")
strawberry.enum(enums.GroupPrivacy)
strawberry.enum(Interval, description="Calendar periods in UTC; weeks start on Monday.")
strawberry.enum(Direction, name="OrderDirection")
strawberry.enum(PostSort, name="PostOrderField", description="RELEVANCE ranks text matches.")
strawberry.enum(enums.SyncFeedKind, description="What a sync feed follows on the microblog.")
