"""Service settings, validated by pydantic-settings under the prefix ``CAMPAIGN_``.

Settings are built once by the entry point and passed in; nothing reads them at import time,
so tests construct ``Settings(...)`` directly.  ``DATABASE_URL`` (and ``DATABASE_READ_URL``) are
also accepted without the prefix because that is the name every host and tool uses.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "campaign-graph-development-secret-change-me"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CAMPAIGN_DATABASE_URL", "DATABASE_URL")
    )
    database_read_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CAMPAIGN_DATABASE_READ_URL", "DATABASE_READ_URL"),
    )
    # Where the embedded PostgreSQL keeps its data when no DATABASE_URL is given.
    data_dir: Path = Path(".campaign-data")
    db_pool_size: int = Field(default=10, ge=1, le=200)

    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    jwt_issuer: str = "campaign-graph"
    jwt_ttl_seconds: int = Field(default=12 * 3600, gt=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # The public base URL of this service, used to build tracked links.
    public_url: str | None = None

    # GraphiQL in the browser (GET /graphql); by default only in development. The page holds
    # no data (queries still need a token), but production need not advertise the API.
    graphiql: bool | None = None

    # The microblog to mirror; without a token `campaign up` runs the bundled simulator.
    microblog_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CAMPAIGN_MICROBLOG_URL", "MICROBLOG_URL")
    )
    microblog_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CAMPAIGN_MICROBLOG_TOKEN", "MICROBLOG_TOKEN")
    )
    sync_poll_seconds: float = Field(default=60.0, gt=0)
    # The microblog allows 10 requests per 30 s per token for messages and for the rest.
    sync_budget_requests: int = Field(default=10, ge=1)
    sync_budget_window_seconds: float = Field(default=30.0, gt=0)
    sync_horizon_days: int = Field(default=90, ge=1)
    # The freshness policy (api.domain.freshness): threads active within the last
    # `active_hours` are read again every pass, within `recent_days` every
    # `recent_every_minutes`, older ones every `older_every_hours`; their walks take at most
    # `share` of the messages budget of a poll interval, after the feeds' new posts.
    sync_fresh_active_hours: float = Field(default=24.0, ge=0)
    sync_fresh_recent_days: float = Field(default=7.0, ge=0)
    sync_fresh_recent_every_minutes: float = Field(default=60.0, ge=0)
    sync_fresh_older_every_hours: float = Field(default=24.0, ge=0)
    sync_fresh_share: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # A token signed with a secret everyone can read from the source is no token at all.
        if self.environment != "development" and (
            self.jwt_secret.get_secret_value() == DEVELOPMENT_SECRET
            or len(self.jwt_secret.get_secret_value()) < 32
        ):
            raise ValueError(
                "CAMPAIGN_JWT_SECRET must be set to a secret of at least 32 characters "
                "outside development"
            )
        return self

    @model_validator(mode="after")
    def _fresh_tiers_in_order(self) -> Settings:
        if self.sync_fresh_recent_days * 24 < self.sync_fresh_active_hours:
            raise ValueError(
                "CAMPAIGN_SYNC_FRESH_RECENT_DAYS must cover CAMPAIGN_SYNC_FRESH_ACTIVE_HOURS"
            )
        return self

    @property
    def graphiql_enabled(self) -> bool:
        return self.environment == "development" if self.graphiql is None else self.graphiql

    def check_listen(self, host: str) -> None:
        """Refuse to serve beyond this machine while tokens are signed with the public
        development secret: anyone could forge an admin token from the source."""
        if self.jwt_secret.get_secret_value() == DEVELOPMENT_SECRET and host not in LOOPBACK:
            raise ValueError(
                f"refusing to listen on {host} with the development JWT secret; "
                "set CAMPAIGN_JWT_SECRET (32+ characters) or listen on 127.0.0.1"
            )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
