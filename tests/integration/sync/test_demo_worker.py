"""`campaign worker` against `campaign simulator`'s demo, as docker compose runs them: the worker
sets the demo campaign up and stamps what it reads with the simulator's campaign clock."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.db.session import Database
from api.domain import demo_content
from api.simulator.config import DEFAULT_TOKEN
from api.simulator.server import BackgroundServer, demo_app
from tests.integration.sync.conftest import ANCHOR, rows

CAMPAIGN = Path(sys.executable).with_name("campaign")
LEAD_READINGS = """SELECT s.observed_at, s.followers FROM follower_snapshot s
  JOIN person p ON p.id = s.person_id WHERE p.email = :email ORDER BY s.observed_at"""


async def test_the_worker_follows_the_demo_clock(
    tmp_path: Path, fresh_url: str, fresh_db: Database
) -> None:
    # A campaign day a second; the clock starts with the worker's first request.
    app = demo_app(anchor=ANCHOR, pace=86_400, live_activity_seconds=None, rate_limits=(500, 30))
    with BackgroundServer(app) as server:
        log = (tmp_path / "worker.log").open("w")
        process = await asyncio.create_subprocess_exec(
            str(CAMPAIGN), "worker",
            env={**os.environ, "DATABASE_URL": fresh_url, "MICROBLOG_URL": server.url,
                 "MICROBLOG_TOKEN": DEFAULT_TOKEN, "CAMPAIGN_SYNC_POLL_SECONDS": "1",
                 "CAMPAIGN_SYNC_BUDGET_REQUESTS": "500"},
            stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            readings: list[tuple[datetime, int]] = []
            final = demo_content.LEAD_FOLLOWERS[-1][1]
            while not readings or readings[-1][1] < final:
                assert process.returncode is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (
                    readings,
                    (tmp_path / "worker.log").read_text(),
                )
                await asyncio.sleep(0.5)
                found = await rows(fresh_db, LEAD_READINGS, email=demo_content.LEAD)
                readings = [(at, n) for at, n in found]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=60)
            log.close()
    assert process.returncode == 0, (tmp_path / "worker.log").read_text()
    # Set up as `campaign up` does, on the simulator's anchor.
    [(starts_on,)] = await rows(fresh_db, "SELECT starts_on FROM campaign")
    assert starts_on == ANCHOR
    # Readings rise through the campaign's weeks, stamped with the demo's time, not today's.
    counts = [n for _, n in readings]
    assert counts == sorted(counts)
    assert counts[0] < 20, readings  # the first reading is from the campaign's first days
    assert len(set(counts)) >= 3, readings
    start = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=UTC)
    assert all(start <= at < start + timedelta(weeks=4) for at, _ in readings), readings
