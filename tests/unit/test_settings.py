"""Settings: validated, read from the environment, and never shown in full."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from api.cli import main
from api.settings import DEVELOPMENT_SECRET, Settings, get_settings

PUBLIC = "https://campaign.example.com"
ENV_NAMES = ("DATABASE_URL", "DATABASE_READ_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No CAMPAIGN_* or DATABASE_URL from the machine, no .env file, no cached settings."""
    import os

    for name in list(os.environ):
        if name.startswith("CAMPAIGN_") or name in ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="CAMPAIGN_JWT_SECRET"):
        Settings(environment="production")


def test_production_refuses_the_development_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAMPAIGN_ENVIRONMENT", "production")
    with pytest.raises(ValidationError):
        Settings()


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError):
        Settings(environment="production", jwt_secret="s" * 31)


def test_production_accepts_a_long_secret() -> None:
    secret = "0123456789abcdefghij0123456789abcdefghij"
    assert len(secret) == 40
    settings = Settings(environment="production", jwt_secret=secret, public_url=PUBLIC)
    assert settings.environment == "production"
    assert settings.jwt_secret.get_secret_value() == secret


def test_outside_development_the_public_url_is_required() -> None:
    # Tracked links would otherwise be built from the request's Host header.
    with pytest.raises(ValidationError, match="CAMPAIGN_PUBLIC_URL"):
        Settings(environment="production", jwt_secret="x" * 40)
    with pytest.raises(ValidationError, match="CAMPAIGN_PUBLIC_URL"):
        Settings(environment="test", jwt_secret="x" * 40, public_url="campaign.example.com")


def test_development_keeps_the_default_secret() -> None:
    settings = Settings()
    assert settings.environment == "development"
    assert settings.jwt_secret.get_secret_value() == DEVELOPMENT_SECRET


def test_the_development_secret_serves_only_this_machine() -> None:
    settings = Settings()
    for host in ("127.0.0.1", "localhost", "::1"):
        settings.check_listen(host)
    with pytest.raises(ValueError, match="CAMPAIGN_JWT_SECRET"):
        settings.check_listen("0.0.0.0")
    Settings(jwt_secret="x" * 40).check_listen("0.0.0.0")


@pytest.mark.parametrize("command", ["serve", "up"])
def test_serving_publicly_with_the_development_secret_is_refused(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "development JWT secret" in result.output
    assert not Path(".campaign-data").exists()  # refused before any database was started


def test_graphiql_by_default_only_in_development() -> None:
    assert Settings().graphiql_enabled
    assert not Settings(
        environment="production", jwt_secret="x" * 40, public_url=PUBLIC
    ).graphiql_enabled
    assert Settings(
        environment="production", jwt_secret="x" * 40, public_url=PUBLIC, graphiql=True
    ).graphiql_enabled


def test_database_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().database_url is None
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.example.com:5432/campaign")
    assert Settings().database_url == "postgresql://app@db.example.com:5432/campaign"
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://app@replica.example.com/campaign")
    assert Settings().database_read_url == "postgresql://app@replica.example.com/campaign"


def test_prefixed_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PORT", "9123")
    monkeypatch.setenv("CAMPAIGN_JWT_SECRET", "from-the-environment")
    settings = Settings()
    assert settings.port == 9123
    assert settings.jwt_secret.get_secret_value() == "from-the-environment"


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()


def test_config_masks_the_secret() -> None:
    secret = "a-very-private-signing-secret-0123456789"
    result = CliRunner().invoke(main, ["config"], env={"CAMPAIGN_JWT_SECRET": secret})
    assert result.exit_code == 0, result.output
    assert "jwt_secret" in result.output
    assert "jwt_issuer = campaign-graph" in result.output
    assert secret not in result.output
    assert secret[:12] not in result.output


def test_config_masks_the_database_password() -> None:
    password = "hunter2-database-password"
    result = CliRunner().invoke(
        main,
        ["config"],
        env={"DATABASE_URL": f"postgresql://app:{password}@db.example.com:5432/campaign"},
    )
    assert result.exit_code == 0, result.output
    assert "db.example.com" in result.output  # the setting is shown...
    assert password not in result.output  # ...but not the secret in it


def test_config_refuses_invalid_settings_with_a_message() -> None:
    result = CliRunner().invoke(main, ["config"], env={"CAMPAIGN_ENVIRONMENT": "production"})
    assert result.exit_code != 0
    assert "CAMPAIGN_JWT_SECRET" in result.output
    assert DEVELOPMENT_SECRET not in result.output
