"""Which origins may call the API from a browser (CORS) and open a WebSocket."""

from __future__ import annotations

import pytest

from api.origins import allowed_ws_origin, cors_origins, normalize_origin, ws_origins
from api.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(environment="development", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("origin", "normal"),
    [
        ("https://Dash.Example.com", "https://dash.example.com"),
        ("https://dash.example.com:443/", "https://dash.example.com"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", None),
        ("file:///tmp/page.html", None),
        ("https://dash.example.com/app", None),
        ("https://user@dash.example.com", None),
        ("https://dash.example.com:99999", None),
        ("", None),
    ],
)
def test_origins_are_normalized(origin: str, normal: str | None) -> None:
    assert normalize_origin(origin) == normal


def test_no_origin_is_allowed_by_default() -> None:
    plain = settings()
    assert cors_origins(plain) == []
    assert not allowed_ws_origin(plain, "https://dash.example.com")
    # No Origin header: not a browser, nothing to distrust.
    assert allowed_ws_origin(plain, None)


def test_websocket_origins_default_to_the_cors_origins_and_the_public_url() -> None:
    s = settings(cors_origins=["https://dash.example.com"], public_url="https://api.example.com")
    assert ws_origins(s) == ["https://dash.example.com", "https://api.example.com"]
    assert allowed_ws_origin(s, "https://DASH.example.com:443")
    assert allowed_ws_origin(s, "https://api.example.com")
    assert not allowed_ws_origin(s, "https://dash.example.com.evil.net")
    assert not allowed_ws_origin(s, "http://dash.example.com")  # another scheme
    assert not allowed_ws_origin(s, "null")


def test_websocket_origins_of_their_own_replace_the_cors_ones() -> None:
    s = settings(cors_origins=["https://dash.example.com"], ws_origins=["https://live.example.com"])
    assert allowed_ws_origin(s, "https://live.example.com")
    assert not allowed_ws_origin(s, "https://dash.example.com")
    assert allowed_ws_origin(settings(ws_origins=["*"]), "https://anything.example.org")


def test_origins_come_from_the_environment_as_a_list_or_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAMPAIGN_CORS_ORIGINS", "https://a.example.com, https://b.example.com")
    monkeypatch.setenv("CAMPAIGN_WS_ORIGINS", '["https://c.example.com"]')
    s = Settings()
    assert s.cors_origins == ["https://a.example.com", "https://b.example.com"]
    assert s.ws_origins == ["https://c.example.com"]


def test_a_listed_origin_that_is_no_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="not a web origin"):
        cors_origins(settings(cors_origins=["https://dash.example.com/path"]))
