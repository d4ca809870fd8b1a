"""Service settings, validated by pydantic-settings under the prefix ``CAMPAIGN_``.

Settings are built once by the entry point and passed in; nothing reads them at import time,
so tests construct ``Settings(...)`` directly.  ``DATABASE_URL`` (and ``DATABASE_READ_URL``) are
also accepted without the prefix because that is the name every host and tool uses.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET = "campaign-graph-development-secret-change-me"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Roles an identity provider's token may grant (the LMS authenticates with keys).
IdpRole = Literal["ADMIN", "MANAGER", "MEMBER"]
IDP_ROLE_VALUES: dict[str, IdpRole] = {"admin": "ADMIN", "manager": "MANAGER", "member": "MEMBER"}


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
    # The `iss` (and, when set, `aud`) every bearer token must carry: the tokens this service
    # signs (HS256, `campaign token issue`) and the identity provider's (RS256, below) alike.
    jwt_issuer: str = "campaign-graph"
    jwt_audience: str | None = None
    jwt_ttl_seconds: int = Field(default=12 * 3600, gt=0)

    # The company's identity provider: RS256 tokens verified with the keys at this JWKS URL
    # (picked by the token's `kid`), beside the HS256 secret.  See docs/ARCHITECTURE.md.
    jwks_url: str | None = None
    # Keys are kept this long; a token naming an unknown `kid` (a rotation) refetches them,
    # but not more often than jwks_min_refresh_seconds, so made-up kids cannot flood the IdP.
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_seconds: float = Field(default=10.0, ge=0)
    # The claim that holds an IdP user's role(s), a string or a list; each value is looked up
    # in jwt_role_values (case-insensitive) and the most privileged match is the role.
    jwt_role_claim: str = "roles"
    jwt_role_values: dict[str, IdpRole] = Field(default_factory=lambda: dict(IDP_ROLE_VALUES))
    # The claim naming the person (a manager is matched to the people table by it).
    jwt_subject_claim: str = "email"
    # Allowed clock difference with the identity provider when checking exp/nbf/iat.
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # The public base URL of this service, used to build tracked links. Required outside
    # development: without it a link would have to come from the request's Host header, which
    # any client can set.
    public_url: str | None = None
    # Step 1 of the order of defence (schema/extensions.py): larger bodies are refused, 413.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # Subscriptions (api/live): committed changes a subscriber may have waiting before it is
    # dropped as too slow (closed with 1013), and operations one WebSocket may run at once.
    subscription_queue: int = Field(default=100, ge=1, le=10_000)
    subscriptions_per_connection: int = Field(default=20, ge=1, le=100)
    # A WebSocket is closed (4403) when its token expires; one opened with an API key (keys do
    # not expire) is closed within this many seconds of the key's revocation: one statement
    # per process and interval checks every key its open sockets use.
    subscription_key_check_seconds: float = Field(default=60.0, gt=0)

    # Trusted documents (production): only documents registered beforehand
    # (`campaign persisted register DIR`) run, and clients cannot register new ones. Off,
    # clients register documents themselves with Apollo's automatic persisted queries.
    trusted_documents: bool = False
    # ... except for admins, who may run documents of their own (GraphiQL, exploring); these
    # are not registered by being run. Every other role runs registered documents only.
    trusted_documents_admin_adhoc: bool = True
    # Queries the compiler covers (api/db/compiled) are answered by one SQL statement built
    # once per document text, after the same order of defence; off, every query runs on the
    # resolvers (a switch for benchmarks and for ruling the compiler out).
    compiled: bool = True
    # The HTTP fast path (api/fast_path.py): a document a compiled plan has answered through
    # the full pipeline is answered next time without Strawberry, after the same per-request
    # steps (credentials, persisted documents, variables, cost and budget, kept answers, ETag);
    # anything unusual still takes the full path. Off: every request takes the full path.
    fast_path: bool = True
    # At start, each process prepares the stored (persisted, trusted) documents registered
    # last for the fast path in the background, so that their first request skips Strawberry
    # too (api.graphql.GraphQLView.warm_up); off: a document is known once a request made it so.
    warm_up_documents: bool = True

    # GraphiQL in the browser (GET /graphql); by default only in development. The page holds
    # no data (queries still need a token), but production need not advertise the API.
    graphiql: bool | None = None
    # Where GraphiQL's pinned assets are kept (api/graphiql; default: `graphiql` in the data
    # folder). `campaign up` fetches them there with npm on its first start, and
    # `campaign graphiql install` does so anywhere, e.g. when building an image.
    graphiql_assets_dir: Path | None = None

    # Logs: `text` (one readable line each) or `json` (one object each, with the request id);
    # by default text in development (`campaign up`) and JSON everywhere else.
    log_format: Literal["text", "json"] | None = None
    # One line per HTTP request the API answers (uvicorn's access log, with the request id);
    # by default off in development (`--verbose` shows them) and on everywhere else.
    access_log: bool | None = None
    # Web pages on these origins may call the API from a browser (CORS); none by default.
    # A comma-separated list or a JSON array, e.g. `https://dashboard.example.com`.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Pages on these origins may open a WebSocket (subscriptions); by default the CORS origins.
    # `*` allows any. The page's own origin (CAMPAIGN_PUBLIC_URL, or the same host) always may.
    ws_origins: Annotated[list[str] | None, NoDecode] = None
    # /metrics answers loopback clients only, unless a scraper sends this bearer token.
    metrics_token: SecretStr | None = None

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

    # `campaign up`'s demo: how many times faster than real time the campaign clock replays the
    # demo's weeks (1440: a campaign day a minute; 1: no replay) until it reaches the present, and the
    # seconds between new simulated posts, replies, likes and followers (0: none).
    demo_pace: float = Field(default=1440.0, ge=1)
    demo_activity_seconds: float = Field(default=10.0, ge=0)

    # Query cost (schema/cost.py) and budgets (schema/budgets.py). One operation may cost at
    # most `query_cost_max` points; each principal's bucket holds `query_budget_<role>` points
    # and refills at `query_budget_<role>_restore` points a second (a leaky bucket).
    query_cost_max: int = Field(default=2_000, ge=1)
    query_budget_admin: int = Field(default=50_000, ge=1)
    query_budget_admin_restore: float = Field(default=500.0, gt=0)
    query_budget_manager: int = Field(default=20_000, ge=1)
    query_budget_manager_restore: float = Field(default=200.0, gt=0)
    query_budget_member: int = Field(default=10_000, ge=1)
    query_budget_member_restore: float = Field(default=100.0, gt=0)
    # Per LMS key: the integration's traffic is machine-paced and predictable.
    query_budget_lms: int = Field(default=20_000, ge=1)
    query_budget_lms_restore: float = Field(default=200.0, gt=0)

    # Answers kept per process for repeated reads (api/response_cache.py), keyed by the data
    # version: at most this many bytes of answers (least recently used leave first); 0: none.
    response_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)

    @field_validator("cors_origins", "ws_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

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
        # An IdP signs tokens for many applications: without an audience, a token issued for
        # any of them would be accepted here.
        if self.jwks_url and not self.jwt_audience:
            raise ValueError("CAMPAIGN_JWKS_URL needs CAMPAIGN_JWT_AUDIENCE (this API's audience)")
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

    @model_validator(mode="after")
    def _fresh_tiers_in_order(self) -> Settings:
        if self.sync_fresh_recent_days * 24 < self.sync_fresh_active_hours:
            raise ValueError(
                "CAMPAIGN_SYNC_FRESH_RECENT_DAYS must cover CAMPAIGN_SYNC_FRESH_ACTIVE_HOURS"
            )
        return self

    @property
    def json_logs(self) -> bool:
        if self.log_format is None:
            return self.environment != "development"
        return self.log_format == "json"

    @property
    def access_log_enabled(self) -> bool:
        return self.environment != "development" if self.access_log is None else self.access_log

    @property
    def graphiql_enabled(self) -> bool:
        return self.environment == "development" if self.graphiql is None else self.graphiql

    @property
    def graphiql_assets(self) -> Path:
        return self.graphiql_assets_dir or self.data_dir / "graphiql"

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
