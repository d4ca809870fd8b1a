"""`campaign up` as a newcomer runs it: embedded PostgreSQL, migrations, the bundled microblog
simulator mirrored by the worker, the API; and the demo's story read back through GraphQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.domain import demo_content

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = Path(sys.executable).with_name("campaign")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The banner's last line under the demo (api/cli/running.py), printed once the API answers.
BANNER_END = "Simulated microblog: "
# A campaign day every 3 s: the demo's three weeks replay in about a minute.
PACE = "28800"


class Up:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env["CAMPAIGN_DATA_DIR"] = str(data_dir)
        # A short poll and a roomy budget (the simulator gets the same limits) keep this quick;
        # live activity every second shows it keeps coming.
        env["CAMPAIGN_SYNC_POLL_SECONDS"] = "2"
        env["CAMPAIGN_SYNC_BUDGET_REQUESTS"] = "200"
        env["CAMPAIGN_DEMO_ACTIVITY_SECONDS"] = "1"
        self.process = subprocess.Popen(
            [str(CAMPAIGN), "up", "--port", str(self.port), "--pace", PACE],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.started = threading.Event()
        self.token = ""
        # Drained all along: a full pipe would block the command's logging, and with it the API.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith(BANNER_END):  # the banner's last line: the API answers
                self.started.set()
        self.started.set()  # the command ended

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 90) -> str:
        """The admin token printed, once /readyz answers 200."""
        self.started.wait(timeout)
        assert self.process.poll() is None, self.output
        # The API's socket listens from the start, so this waits in the backlog if need be.
        response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=30)
        assert response.status_code == 200, response.text
        match = re.search(r"Admin token: (\S+)", self.output)
        assert match, self.output
        assert f"http://127.0.0.1:{self.port}/graphql" in self.output
        self.token = match.group(1)
        return self.token

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"http://127.0.0.1:{self.port}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=60)
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        assert self.process.returncode == 0, self.output


def until(
    check: Callable[[], dict[str, Any] | None], what: str, timeout: float = 180
) -> dict[str, Any]:
    """Poll ``check`` (at most ``timeout`` s) until it returns data; that data."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


STORY = """query Story($since: DateTime!, $until: DateTime!) {
  campaign(slug: "learning-community") {
    name startsOn topics { totalCount } owner { followerCount }
    performance(since: $since, until: $until) { posts replies likes newFollowers }
    followerGrowth(since: $since, until: $until, interval: WEEK) { periodStart followers }
    promotions { nodes { title heldOn followersGainedWithin7Days } }
  }
  syncStatus { state source requestsInLastWindow recentRuns(first: 3) { totalCount
    nodes { finishedAt } } }
}"""
EVER = {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}


def story(up: Up) -> dict[str, Any]:
    starts_on = up.query('{ campaign(slug: "learning-community") { startsOn } }')["campaign"]
    start = datetime.fromisoformat(starts_on["startsOn"]).replace(tzinfo=UTC)
    # The campaign's own weeks, so its growth points are the demo's weeks.
    weeks = {"since": start.isoformat(), "until": (start + timedelta(weeks=4)).isoformat()}
    return up.query(STORY, weeks)


def told(up: Up) -> dict[str, Any] | None:
    """The story once it has all happened: every demo post, and the lead's last follower."""
    data = story(up)
    campaign = data["campaign"]
    done = campaign["owner"]["followerCount"] == demo_content.LEAD_FOLLOWERS[-1][1]
    return data if done and campaign["performance"]["posts"] >= len(demo_content.POSTS) else None


def post_ids(up: Up) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        page = up.query(
            "query($after: String) { posts(first: 100, after: $after) { nodes { id } "
            "pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )["posts"]
        ids |= {node["id"] for node in page["nodes"]}
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


def activity(up: Up) -> int:
    p = up.query(
        "query($since: DateTime!, $until: DateTime!) { campaign("
        'slug: "learning-community") { performance(since: $since, until: $until) '
        "{ posts replies likes } } }",
        EVER,
    )["campaign"]["performance"]
    return int(p["posts"] + p["replies"] + p["likes"])


def _new_activity_appears(up: Up) -> None:
    """A post made on the microblog shows in GraphQL after the next poll (2 s here)."""
    match = re.search(r"Simulated microblog: (\S+)", up.output)
    assert match, up.output
    httpx.post(
        f"{match.group(1)}/_sim/activity",
        json={"action": "post", "body": "Fresh from the microblog #leadership"},
        timeout=5,
    ).raise_for_status()
    query = '{ posts(first: 1, filter: {text: "fresh microblog"}) { nodes { body } } }'

    def arrived() -> dict[str, Any] | None:
        posts = up.query(query)["posts"]
        return posts if posts["nodes"] else None

    until(arrived, "the new post", timeout=60)


def test_campaign_up_tells_the_demo_story_and_a_restart_keeps_it() -> None:
    # Not under pytest's basetemp: another pytest session on the machine may prune or reset it
    # while the embedded server (its own user) still runs from it (see test_quiet_up).
    with tempfile.TemporaryDirectory(prefix="campaign-up-", ignore_cleanup_errors=True) as d:
        _story_and_restart(Path(d) / "data")


def _story_and_restart(data_dir: Path) -> None:
    first = Up(data_dir)
    try:
        first.wait_ready()
        data = until(lambda: told(first), "the demo's three weeks")
        # Likes, replies and posts keep arriving after the story (a step a second here).
        before = activity(first)
        until(lambda: {} if activity(first) > before else None, "live activity", timeout=60)
        _new_activity_appears(first)
        # GraphiQL's assets were fetched on the first start and are served from here.
        page = httpx.get(f"http://127.0.0.1:{first.port}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200, page.text
        bundle = re.search(r'src="(/graphiql/static/graphiql@[^"]+)"', page.text)
        assert bundle, page.text
        assert httpx.get(f"http://127.0.0.1:{first.port}{bundle.group(1)}").status_code == 200
        mirrored = post_ids(first)
        runs = story(first)["syncStatus"]["recentRuns"]["totalCount"]
    finally:
        first.stop()
    campaign = data["campaign"]
    assert campaign["name"] == "Learning Community Launch"
    assert campaign["topics"]["totalCount"] == 4
    # The lead's followers rose week by week, as the worker saw them arrive.
    growth = [point["followers"] for point in campaign["followerGrowth"]]
    assert growth == sorted(growth), growth
    assert growth[0] < growth[-1] == demo_content.LEAD_FOLLOWERS[-1][1], growth
    assert campaign["performance"]["newFollowers"] > 0
    # Promotions were followed by follower gains.
    gains = [p["followersGainedWithin7Days"] for p in campaign["promotions"]["nodes"]]
    assert len(gains) == len(demo_content.PROMOTIONS)
    assert any(gain > 0 for gain in gains), gains
    sync = data["syncStatus"]
    assert sync["source"].startswith("simulator http://127.0.0.1:")
    assert sync["state"] in ("SYNCING", "IDLE")
    assert sync["requestsInLastWindow"] > 0  # live from the worker's budget
    # Stopped cleanly: the embedded server is gone with the command.
    assert not list(data_dir.rglob("postmaster.pid"))

    second = Up(data_dir)
    try:
        second.wait_ready()

        def passes_since_restart() -> dict[str, Any] | None:
            # Two more runs, the older of them finished: a whole pass after the restart.
            found = story(second)["syncStatus"]["recentRuns"]
            return (
                found
                if found["totalCount"] >= runs + 2 and found["nodes"][1]["finishedAt"]
                else None
            )

        until(passes_since_restart, "a pass after the restart", timeout=120)
        again = story(second)
        kept = post_ids(second)
    finally:
        second.stop(signal.SIGTERM)  # as docker stop or systemd would
    assert not list(data_dir.rglob("postmaster.pid"))
    # The simulator resumed its network: nothing mirrored disappeared, nothing seeded twice,
    # and the story's past is as it was.
    assert mirrored <= kept, mirrored - kept
    assert again["campaign"]["topics"]["totalCount"] == 4
    assert again["campaign"]["followerGrowth"][:3] == campaign["followerGrowth"][:3]


def test_campaign_up_refuses_a_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env["CAMPAIGN_DATA_DIR"] = str(tmp_path / "data")
        result = subprocess.run(
            [str(CAMPAIGN), "up", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "data").exists()  # no database was started for nothing
