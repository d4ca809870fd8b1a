"""The demo replay: a campaign clock that plays the demo's weeks fast, and a saved network that
a restart resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.domain import demo_content as content
from api.simulator import SimulatorConfig, create_simulator
from api.simulator.activity import LiveActivity
from api.simulator.clock import CampaignClock
from api.simulator.demo import campaign_start, demo_network
from api.simulator.network import Network
from api.simulator.replay import Replay
from tests.simulator.conftest import ANCHOR, AUTH, NOW

START = campaign_start(ANCHOR)


class RealTime:
    """A stand-in for the wall clock that moves only when told."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def lead_followers(network: Network) -> int:
    return network.user(network.current_user_id).followers


def test_the_clock_runs_at_its_pace_until_it_reaches_the_present() -> None:
    real = RealTime(NOW)
    clock = CampaignClock(START, pace=1000, real=real)
    assert clock.now() == START
    real.now += timedelta(seconds=60)
    assert clock.now() == START + timedelta(seconds=60_000)
    real.now += timedelta(days=30)  # long past catching up: real time from then on
    assert clock.now() == real.now
    assert clock.caught_up
    real.now -= timedelta(seconds=5)  # the wall clock steps back; the campaign's does not
    assert clock.now() == real.now + timedelta(seconds=5)
    # Pace 1 is no replay: real time once started, not the time it stood at.
    standing = CampaignClock(START, pace=1, real=real, started=False)
    assert standing.now() == START
    standing.start()
    assert standing.now() == real.now
    with pytest.raises(ValueError, match="pace"):
        CampaignClock(START, pace=0.5)


def test_the_script_lands_as_the_clock_reaches_it() -> None:
    real = RealTime(NOW)
    replay = Replay.start(ANCHOR, pace=86_400, real=real)  # a campaign day per second
    network, activity = replay.network, LiveActivity(replay.network)
    real.now += timedelta(minutes=5)
    replay.tick(activity)
    assert replay.clock.now() == START  # standing until started
    replay.clock.start()
    replay.tick(activity)
    assert lead_followers(network) == 17
    assert not network.messages
    seen = [lead_followers(network)]
    for _ in range(22):
        real.now += timedelta(seconds=1)
        replay.tick(activity)
        seen.append(lead_followers(network))
    assert seen == sorted(seen)
    assert seen[-1] == content.LEAD_FOLLOWERS[-1][1]
    assert len(set(seen)) > 10  # day by day, not all at once
    assert network.summary()["threads"] >= len(content.POSTS)
    assert replay.script.finished


def test_live_activity_in_a_replay_keeps_ids_in_creation_order() -> None:
    real = RealTime(NOW)
    replay = Replay.start(ANCHOR, pace=86_400, real=real)
    replay.clock.start()
    activity = LiveActivity(replay.network, seed=2)
    for _ in range(40):
        real.now += timedelta(milliseconds=500)
        activity.step("post")  # stamped by the campaign clock, before the script catches up
        replay.tick(activity)
    messages = sorted(replay.network.messages.values(), key=lambda m: m.id)
    created = [m.created_at for m in messages]
    assert created == sorted(created)
    assert all(m.created_at <= replay.clock.now() for m in messages)


def test_a_saved_demo_resumes_where_it_stopped(tmp_path: Path) -> None:
    store = tmp_path / "simulator.pickle"
    real = RealTime(NOW)
    first = Replay.start(ANCHOR, pace=86_400, store=store, real=real)
    first.clock.start()
    activity = LiveActivity(first.network, seed=5)
    real.now += timedelta(seconds=9)
    first.tick(activity)
    for _ in range(3):
        activity.step("post")
    first.save(activity)
    stopped_at = first.clock.now()

    real.now += timedelta(hours=1)  # down for an hour of real time
    again = Replay.start(pace=86_400, store=store, real=real)  # any anchor: the saved one
    assert again.anchor == ANCHOR
    again.clock.start()
    assert again.clock.now() == stopped_at  # the clock resumes, it does not start over
    assert again.network.messages.keys() == first.network.messages.keys()
    assert again.script.played == first.script.played
    resumed = LiveActivity(again.network, seed=0)
    resumed.restore(again.activity_snapshot)
    assert resumed.posts == 3
    assert resumed.rng.random() == activity.rng.random()
    # Another campaign's start: that demo is not this one.
    other = Replay.start(ANCHOR + timedelta(weeks=1), store=store, real=real)
    assert not other.network.messages


def test_a_damaged_save_starts_anew(tmp_path: Path) -> None:
    store = tmp_path / "simulator.pickle"
    store.write_bytes(b"not a pickle")
    replay = Replay.start(ANCHOR, store=store, from_start=False, real=RealTime(NOW))
    replay.clock.start()
    assert replay.clock.now() == NOW  # not replayed: the present, with the history played
    replay.tick(LiveActivity(replay.network))
    assert replay.script.finished


async def test_answers_are_dated_by_the_campaign_clock(tmp_path: Path) -> None:
    store = tmp_path / "simulator.pickle"
    replay = Replay.start(ANCHOR, pace=2, store=store)  # barely moving
    config = SimulatorConfig(rate_limits_enabled=False)
    app = create_simulator(replay.network, config, replay=replay)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client,
    ):
        response = await client.get("/api/v1/users/current.json")
        assert response.status_code == 200
        dated = parsedate_to_datetime(response.headers["date"])
        assert abs(dated - START) < timedelta(minutes=1)
        assert response.json()["stats"]["followers"] == 17
        assert store.exists()  # saved before it was served
        assert len(response.headers.get_list("date")) == 1
        assert len((await client.get("/_sim/state")).headers.get_list("date")) == 1
    assert Replay.start(store=store).anchor == ANCHOR


def test_the_network_pickles_without_its_lock_or_clock() -> None:
    import pickle

    network = demo_network(ANCHOR, NOW)
    network.clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)
    copy = pickle.loads(pickle.dumps(network))
    assert copy.summary() == network.summary()
    with copy.lock:
        copy.add_message(copy.current_user_id, "after a restart #change")
