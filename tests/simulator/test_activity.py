"""Live activity: new posts with campaign hashtags, replies, likes and followers over time."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api.simulator import Network, SimulatorConfig, create_simulator
from api.simulator.activity import HASHTAGS, LiveActivity
from api.simulator.demo import demo_network
from tests.simulator.conftest import ANCHOR, AUTH, NOW

pytestmark = pytest.mark.unit


def test_steps_add_posts_replies_likes_and_followers(network: Network) -> None:
    activity = LiveActivity(network, seed=1)
    before = network.summary()
    latest = max(network.messages)
    results = [activity.step(kind) for kind in ("post", "reply", "like", "followers")]
    after = network.summary()
    assert after["threads"] == before["threads"] + 1
    assert after["replies"] == before["replies"] + 1
    assert after["likes"] > before["likes"]
    post = network.message(results[0]["message_id"])
    assert any(f"#{tag}" in post.body for tag in HASHTAGS)
    assert latest < post.id < results[1]["message_id"]
    staff = network.user(results[3]["user_id"])
    assert staff.followers == results[3]["followers"]
    # Posts land where the token's user can read them.
    assert post in network.visible_messages()


def test_steps_are_deterministic_per_seed() -> None:
    def bodies(seed: int) -> list[str]:
        network = demo_network(ANCHOR, NOW)
        activity = LiveActivity(network, seed=seed)
        for _ in range(10):
            activity.step()
        return sorted(m.body for m in network.messages.values())

    assert bodies(3) == bodies(3) != bodies(4)


async def test_activity_endpoint(client: httpx.AsyncClient, network: Network) -> None:
    lead = network.current_user_id
    post = (
        await client.post(
            "/_sim/activity", json={"action": "post", "body": "Hi #change", "likes": 2}
        )
    ).json()
    assert post["ok"]
    assert network.message(post["message_id"]).sender_id == lead
    reply = await client.post(
        "/_sim/activity",
        json={"action": "reply", "body": "Re", "replied_to_id": post["message_id"]},
    )
    assert reply.json()["thread_id"] == post["message_id"]
    like = await client.post(
        "/_sim/activity", json={"action": "like", "message_id": post["message_id"], "n": 3}
    )
    assert like.json()["likes"] == 5
    await client.post("/_sim/activity", json={"action": "followers", "user_id": lead, "n": 77})
    assert network.user(lead).followers == 77
    await client.post(
        "/_sim/activity", json={"action": "edit", "message_id": post["message_id"], "body": "Hello"}
    )
    assert network.message(post["message_id"]).body == "Hello"
    await client.post("/_sim/activity", json={"action": "delete", "message_id": post["message_id"]})
    assert (await client.get(f"/api/v1/messages/{post['message_id']}.json")).status_code == 404
    steps = (await client.post("/_sim/activity", json={"action": "random", "steps": 3})).json()
    assert len(steps["steps"]) == 3
    assert (
        await client.post("/_sim/activity", json={"action": "like", "message_id": 1})
    ).status_code == 404
    assert (await client.post("/_sim/activity", json={"action": "dance"})).status_code == 400
    state = (await client.get("/_sim/state")).json()
    assert state["network"]["users"] == len(network.users)


async def test_background_task_adds_messages_while_the_app_runs(network: Network) -> None:
    config = SimulatorConfig(rate_limits_enabled=False, live_activity_seconds=0.02)
    app = create_simulator(network, config)
    before = len(network.messages)
    latest = max(m.id for m in network.visible_messages())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sim", headers=AUTH
        ) as client,
    ):
        for _ in range(100):
            await asyncio.sleep(0.02)
            if len(network.messages) >= before + 2:
                break
        # Switched off at runtime: nothing more arrives.
        config.live_activity_seconds = None
        await asyncio.sleep(0.05)
        frozen = network.version
        await asyncio.sleep(0.1)
        assert network.version == frozen
        page = (await client.get("/api/v1/messages.json", params={"newer_than": latest})).json()
    assert len(network.messages) >= before + 2
    assert page["messages"]
    assert all(m["id"] > latest for m in page["messages"])
