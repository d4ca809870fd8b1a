"""GraphQL enums, registered from the data model's Python enums so the values are one set."""

from __future__ import annotations

import strawberry

from api.analytics.periods import Interval
from api.db import enums
from api.db.pagination import Direction
from api.db.repositories.posts import PostSort

PostKind = strawberry.enum(enums.PostKind, description="What a post does for the campaign.")
ResourceKind = strawberry.enum(enums.ResourceKind)
Visibility = strawberry.enum(enums.Visibility)
GoalMetric = strawberry.enum(enums.GoalMetric)
PromotionKind = strawberry.enum(enums.PromotionKind)
GroupPrivacy = strawberry.enum(enums.GroupPrivacy)
Role = strawberry.enum(enums.Role)
Interval = strawberry.enum(Interval, description="Calendar periods in UTC; weeks start on Monday.")
OrderDirection = strawberry.enum(Direction, name="OrderDirection")
PostOrderField = strawberry.enum(PostSort, name="PostOrderField")
