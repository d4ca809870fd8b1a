"""Per-request DataLoaders, created on first use so a request pays only for what it asks."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from api.analytics import performance, rollups
from api.db.repositories import campaigns, people, posts, resources, topics
from api.db.request_session import Reads
from schema.loaders.base import by_key, by_key_and_args

Loader = DataLoader[Any, Any]


class Loaders:
    def __init__(self, db: Reads) -> None:
        self.db = db

    # -- entities by id ---------------------------------------------------------------
    @cached_property
    def person(self) -> Loader:
        return by_key(self.db, people.get_people)

    @cached_property
    def group(self) -> Loader:
        return by_key(self.db, people.get_groups)

    @cached_property
    def topic(self) -> Loader:
        return by_key(self.db, topics.get_topics)

    @cached_property
    def topic_by_hashtag(self) -> Loader:
        return by_key(self.db, topics.get_topics_by_hashtag)

    @cached_property
    def campaign(self) -> Loader:
        return by_key(self.db, campaigns.get_campaigns)

    @cached_property
    def resource(self) -> Loader:
        return by_key(self.db, resources.get_resources)

    @cached_property
    def post(self) -> Loader:
        return by_key(self.db, posts.get_many)

    @cached_property
    def topic_manager(self) -> Loader:
        return by_key(self.db, topics.get_managers)

    @cached_property
    def promotion(self) -> Loader:
        return by_key(self.db, campaigns.get_promotions)

    # -- relations --------------------------------------------------------------------
    @cached_property
    def post_topics(self) -> Loader:
        return by_key(self.db, posts.topics_by_post, list)

    @cached_property
    def post_hashtags(self) -> Loader:
        return by_key(self.db, posts.hashtags_by_post, list)

    @cached_property
    def post_resources(self) -> Loader:
        return by_key(self.db, resources.resources_by_post, list)

    @cached_property
    def topic_resources(self) -> Loader:
        return by_key(self.db, resources.resources_by_topic, list)

    @cached_property
    def resource_topics(self) -> Loader:
        return by_key(self.db, resources.topics_by_resource, list)

    @cached_property
    def episodes(self) -> Loader:
        return by_key(self.db, resources.episodes_by_series, list)

    @cached_property
    def click_count(self) -> Loader:
        return by_key(self.db, resources.click_counts, int)

    @cached_property
    def managers_by_topic(self) -> Loader:
        return by_key(
            self.db, lambda s, keys: topics.current_managers_by(s, "topic_id", keys), list
        )

    @cached_property
    def managers_by_person(self) -> Loader:
        return by_key(
            self.db, lambda s, keys: topics.current_managers_by(s, "person_id", keys), list
        )

    @cached_property
    def managers_by_campaign(self) -> Loader:
        return by_key(
            self.db, lambda s, keys: topics.current_managers_by(s, "campaign_id", keys), list
        )

    @cached_property
    def goals(self) -> Loader:
        return by_key(self.db, campaigns.goals_by_campaign, list)

    @cached_property
    def promotion_topics(self) -> Loader:
        return by_key(self.db, campaigns.topics_by_promotion, list)

    # -- pages and counts, keyed (parent, args) ---------------------------------------
    @cached_property
    def post_page(self) -> Loader:
        """Keys ``(parent, (scope, PostQuery))``."""
        return by_key_and_args(
            self.db, lambda s, keys, args: posts.page_by_parent(s, args[0], keys, args[1])
        )

    @cached_property
    def post_count(self) -> Loader:
        """Keys ``(parent, (scope, PostFilter))``."""
        return by_key_and_args(
            self.db, lambda s, keys, args: posts.count_by_parent(s, args[0], keys, args[1]), int
        )

    @cached_property
    def metrics_page(self) -> Loader:
        return by_key_and_args(self.db, posts.metrics_history_by_post)

    @cached_property
    def metrics_count(self) -> Loader:
        return by_key(self.db, posts.count_metrics_history, int)

    @cached_property
    def campaign_topic_page(self) -> Loader:
        return by_key_and_args(self.db, topics.page_topics_by_campaign)

    @cached_property
    def campaign_topic_count(self) -> Loader:
        return by_key(self.db, topics.count_topics_by_campaign, int)

    @cached_property
    def campaign_group_page(self) -> Loader:
        return by_key_and_args(self.db, people.page_groups_by_campaign)

    @cached_property
    def campaign_group_count(self) -> Loader:
        return by_key(self.db, people.count_groups_by_campaign, int)

    @cached_property
    def promotion_page(self) -> Loader:
        return by_key_and_args(self.db, campaigns.page_promotions_by_campaign)

    @cached_property
    def promotion_count(self) -> Loader:
        return by_key(self.db, campaigns.count_promotions_by_campaign, int)

    # -- analytics --------------------------------------------------------------------
    @cached_property
    def totals(self) -> Loader:
        """Keys ``(parent, (scope, since, until, interval, authors))`` -> {period start or
        None: Totals}; ``authors`` says whether active authors are counted."""
        return by_key_and_args(
            self.db,
            lambda s, keys, args: rollups.totals(s, args[0], keys, *args[1:]),
            dict,
        )

    @cached_property
    def totals_by_kind(self) -> Loader:
        """Keys ``(parent, (scope, since, until))`` -> {PostKind: Totals}."""
        return by_key_and_args(
            self.db,
            lambda s, keys, args: rollups.totals_by_kind(s, args[0], keys, *args[1:]),
            dict,
        )

    @cached_property
    def followers_before(self) -> Loader:
        """Keys ``(person_id, instant)`` -> follower count just before it (half-open ranges)."""
        return by_key(self.db, performance.followers_before, int)
