"""Auth, privacy and deletion: 401 without a token, 403 for a private group, 404 when deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.simulator import Network, SimulatorConfig
from api.simulator.state import SimulatorState

pytestmark = pytest.mark.unit

Get = Callable[..., Any]
TOKEN_NOT_FOUND = {"response": {"message": "Token not found.", "code": 16, "stat": "fail"}}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]
)
async def test_requests_without_a_valid_token_get_401_code_16(
    client: httpx.AsyncClient, state: SimulatorState, headers: dict[str, str]
) -> None:
    client.headers.pop("Authorization")
    response = await client.get("/api/v1/messages.json", headers=headers)
    assert response.status_code == 401
    assert response.json() == TOKEN_NOT_FOUND
    assert [(r.status, r.outcome, r.admitted) for r in state.log.records] == [
        (401, "unauthorized", False)
    ]


async def test_configured_tokens_work_and_can_act_for_other_users(
    client: httpx.AsyncClient, network: Network, config: SimulatorConfig
) -> None:
    member = next(iter(network.group_by_name("Leadership Circle").member_ids))
    config.update({"tokens": ["alpha", "beta"], "token_users": {"member-token": member}})
    for token, expected in (("alpha", network.current_user_id), ("member-token", member)):
        response = await client.get(
            "/api/v1/users/current.json", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.json()["id"] == expected
    old = await client.get("/api/v1/users/current.json")  # the default token was replaced
    assert old.status_code == 401


async def test_suffix_is_optional(get_json: Get) -> None:
    assert await get_json("/api/v1/messages") == await get_json("/api/v1/messages.json")


async def test_private_group_is_403_for_non_members(
    client: httpx.AsyncClient, network: Network, config: SimulatorConfig, get_json: Get
) -> None:
    private = network.group_by_name("Leadership Circle")
    for path in (
        f"/api/v1/messages/in_group/{private.id}.json",
        f"/api/v1/groups/{private.id}.json",
    ):
        await get_json(path, status=403)
    starter = next(
        m for m in network.messages.values() if m.group_id == private.id and m.is_starter
    )
    await get_json(f"/api/v1/messages/in_thread/{starter.id}.json", status=403)
    await get_json(f"/api/v1/messages/{starter.id}.json", status=403)
    # Not in any feed the lead reads, though it is tagged #leadership.
    topic = network.topic_by_name("leadership")
    assert topic is not None
    assert topic.id in starter.topic_ids
    about = await get_json(f"/api/v1/messages/about_topic/{topic.id}.json")
    everything = await get_json("/api/v1/messages.json", threaded="true")
    for page in (about, everything):
        assert private.id not in {m["group_id"] for m in page["messages"]}
    # A member reads it.
    member = next(iter(private.member_ids))
    config.token_users["member"] = member
    response = await client.get(
        f"/api/v1/messages/in_group/{private.id}.json", headers={"Authorization": "Bearer member"}
    )
    assert response.status_code == 200
    assert response.json()["messages"]


async def test_deleted_messages_are_404_and_gone_from_feeds(
    network: Network, get_json: Get
) -> None:
    deleted = next(m for m in network.messages.values() if m.deleted_at is not None)
    await get_json(f"/api/v1/messages/{deleted.id}.json", status=404)
    await get_json(f"/api/v1/messages/in_thread/{deleted.id}.json", status=404)
    await get_json(f"/api/v1/threads/{deleted.id}.json", status=404)

    # Delete a reply, then a whole thread, while "live".
    starter = next(m for m in network.visible_messages() if len(network.thread(m.id)) >= 3)
    reply = network.thread(starter.id)[1]
    network.delete(reply.id)
    thread = await get_json(f"/api/v1/messages/in_thread/{starter.id}.json")
    assert reply.id not in {m["id"] for m in thread["messages"]}
    await get_json(f"/api/v1/messages/{reply.id}.json", status=404)
    network.delete(starter.id)
    await get_json(f"/api/v1/messages/in_thread/{starter.id}.json", status=404)
    pages = [await get_json("/api/v1/messages.json", older_than=o) for o in (None, 2**53)]
    shown = {m["thread_id"] for page in pages for m in page["messages"]}
    assert starter.id not in shown
    assert deleted.id not in shown


async def test_unknown_ids_are_404(get_json: Get) -> None:
    for path in (
        "/api/v1/messages/1.json",
        "/api/v1/groups/1.json",
        "/api/v1/users/1.json",
        "/api/v1/topics/1",
    ):
        await get_json(path, status=404)
