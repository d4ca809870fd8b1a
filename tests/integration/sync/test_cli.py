"""The sync commands as people run them."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from api.db.session import Database
from api.simulator.config import DEFAULT_TOKEN
from api.simulator.export import build_export_zip
from tests.integration.sync.conftest import Sim, make_client, make_worker, rows, set_up_campaign

CAMPAIGN = Path(sys.executable).with_name("campaign")


async def _campaign(*args: str, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(CAMPAIGN), *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode()


async def test_sync_once_prints_its_summary(fresh_url: str, fresh_db: Database, sim: Sim) -> None:
    async with make_client(sim) as client:
        await set_up_campaign(fresh_db, make_worker(fresh_db, client))
    code, out = await _campaign(
        "sync", "--once", "--feed", "group",
        DATABASE_URL=fresh_url, MICROBLOG_URL=sim.url, MICROBLOG_TOKEN=DEFAULT_TOKEN,
    )  # fmt: skip
    assert code == 0, out
    assert "SUCCEEDED" in out
    feeds = await rows(fresh_db, "SELECT kind, last_success_at IS NOT NULL FROM sync_feed")
    # Only the group feeds were asked for; the others exist but were not run.
    assert {kind for kind, ok in feeds if ok} == {"GROUP"}


async def test_sync_once_with_a_refused_token_fails_and_says_why(
    fresh_url: str, fresh_db: Database, sim: Sim
) -> None:
    code, out = await _campaign(
        "sync",
        "--once",
        DATABASE_URL=fresh_url,
        MICROBLOG_URL=sim.url,
        MICROBLOG_TOKEN="wrong-token",
    )
    assert code == 1
    assert "FAILED" in out
    assert "refused the token" in out
    assert "wrong-token" not in out  # secrets never printed


async def test_import_export_command(
    tmp_path: Path, fresh_url: str, fresh_db: Database, sim: Sim
) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(build_export_zip(sim.network, datetime(2026, 1, 1, tzinfo=UTC)))
    code, out = await _campaign("import-export", str(path), DATABASE_URL=fresh_url)
    assert code == 0, out
    assert "Imported" in out
    assert (await rows(fresh_db, "SELECT count(*) FROM post"))[0][0] > 0
    bad = tmp_path / "notes.txt"
    bad.write_text("not an export")
    code, out = await _campaign("import-export", str(bad), DATABASE_URL=fresh_url)
    assert code == 1
    assert "not a ZIP" in out


async def test_sync_without_a_microblog_says_what_to_set(fresh_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if "MICROBLOG" not in k}
    process = await asyncio.create_subprocess_exec(
        str(CAMPAIGN), "sync", "--once", env={**env, "DATABASE_URL": fresh_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert "set MICROBLOG_URL and MICROBLOG_TOKEN" in out.decode()
    assert "Traceback" not in out.decode()
