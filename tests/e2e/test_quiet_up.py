"""A quiet `campaign up`: on a first start (initdb, every migration) the banner is the last
thing printed, and while requests come and the worker mirrors nothing but the worker's run
summaries follows it: no initdb, alembic, uvicorn or per-request lines, no token outside the
banner."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.test_campaign_up import Up

# What may come before the banner: the embedded server's one line, and our own INFO lines
# (the demo's set-up and its first run), a handful at most.
MAX_BEFORE_BANNER = 5
# The first start also fetches GraphiQL's pinned assets once (api/graphiql), and says so.
ALLOWED_BEFORE = re.compile(r"^(Embedded PostgreSQL in |Fetching GraphiQL's assets |INFO api\.)")
# After it, until something happens: the worker's summary of each run, nothing else.
ALLOWED_AFTER = re.compile(r"^INFO api\.sync\.")


def _banner_at(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith("GraphiQL:"))


def test_the_banner_is_the_last_thing_printed_at_start() -> None:
    # Not under pytest's basetemp: another pytest session resets its folder's permissions,
    # and the embedded server (its own user) could no longer reach its data to stop.
    with tempfile.TemporaryDirectory(prefix="campaign-quiet-up-", ignore_cleanup_errors=True) as d:
        _quiet_start(Path(d) / "data")


def _quiet_start(data_dir: Path) -> None:
    up = Up(data_dir)
    try:
        assert up.started.wait(120), up.output
        assert up.process.poll() is None, up.output
        # The banner is printed once the API answers: no wait in the backlog here.
        ready = httpx.get(f"http://127.0.0.1:{up.port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        token = up.wait_ready()
        lines = [line.rstrip("\n") for line in up.lines]
        start = _banner_at(lines)
        before = [line for line in lines[:start] if line.strip()]
        assert len(before) <= MAX_BEFORE_BANNER, up.output
        assert all(ALLOWED_BEFORE.match(line) for line in before), up.output
        assert lines[start + 1].startswith("Admin token: ")
        banner_end = next(i for i, line in enumerate(lines) if line.startswith("Simulated"))

        # Activity: GraphQL requests (with the token), a scrape, and the worker's next runs.
        for _ in range(3):
            up.query("{ syncStatus { state } }")
        scrape = httpx.get(f"http://127.0.0.1:{up.port}/metrics", timeout=10)
        assert scrape.status_code == 200
        assert 'campaign_graphql_requests_total{operation="anonymous",outcome="ok"}' in (
            scrape.text
        )
        deadline = time.monotonic() + 120
        while not any("SUCCEEDED" in line for line in up.lines[banner_end + 1 :]):
            assert time.monotonic() < deadline, up.output
            time.sleep(0.5)
        seen = len(up.lines)
    finally:
        up.stop()
    after = [line.rstrip("\n") for line in up.lines[banner_end + 1 : seen] if line.strip()]
    assert after, up.output
    assert all(ALLOWED_AFTER.match(line) for line in after), up.output
    banner = "".join(up.lines[start : banner_end + 1])
    assert token not in up.output.replace(banner, ""), up.output
