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
    # The public base URL of this service, used to build tracked links. Required outside
    # development: without it a link would have to come from the request's Host header, which
    # any client can set.
    public_url: str | None = None
    # Step 1 of the order of defence (schema/extensions.py): larger bodies are refused, 413.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

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
    def _require_public_url(self) -> Settings:
        if self.environment != "development" and not self.public_url:
            raise ValueError(
                "CAMPAIGN_PUBLIC_URL (this service's public base URL, for tracked links) "
                "must be set outside development"
            )
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("CAMPAIGN_PUBLIC_URL must start with http:// or https://")
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
