"""What classifying a post needs besides the post: read once a pass, an import, a batch."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models
from api.db.repositories.topics import current_assignment
from api.domain.post_rows import Classifier


async def classifier(session: AsyncSession) -> Classifier:
    """Current managers (by microblog id), campaign hashtags and known resource URLs."""
    TM, Person = models.TopicManager, models.Person
    managers = await session.execute(
        sa.select(Person.external_id)
        .join(TM, TM.person_id == Person.id)
        .where(current_assignment())
    )
    tags = await session.execute(sa.select(models.Topic.hashtag))
    urls = await session.execute(sa.select(models.Resource.normalized_url))
    return Classifier(
        managers=frozenset(managers.scalars()),
        campaign_tags=frozenset(tags.scalars()),
        resource_urls=frozenset(urls.scalars()),
    )
