"""Groups, users and likers: bare arrays paged by 50, string booleans, ``{users, more_available}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.simulator import Network

pytestmark = pytest.mark.unit

Get = Callable[..., Any]


async def test_groups_list_public_groups_and_mine_adds_private_ones(
    network: Network, get_json: Get
) -> None:
    public = await get_json("/api/v1/groups.json")
    assert isinstance(public, list)
    assert {g["full_name"] for g in public} == {
        "Employee Engagement",
        "Social Media at Work",
        "All Company",
    }
    assert all(g["show_in_directory"] == "true" and g["privacy"] == "public" for g in public)
    assert await get_json("/api/v1/groups.json", page=2) == []
    # A member's mine=true includes the private group; the lead's does not.
    mine = await get_json("/api/v1/groups.json", mine="true")
    assert {g["id"] for g in mine} == {g["id"] for g in public}
    private = network.group_by_name("Leadership Circle")
    network.current_user_id = next(iter(private.member_ids))
    theirs = await get_json("/api/v1/groups.json", mine="1")
    assert private.id in {g["id"] for g in theirs}
    assert {g["id"]: g for g in theirs}[private.id]["show_in_directory"] == "false"


async def test_groups_page_by_50(network: Network, get_json: Get) -> None:
    for n in range(60):
        network.add_group(f"Extra group {n:02}")
    pages = [await get_json("/api/v1/groups.json", page=p) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 13, 0]
    assert len({g["id"] for p in pages for g in p}) == 63


async def test_group_object(network: Network, get_json: Get) -> None:
    group = network.group_by_name("Employee Engagement")
    data = await get_json(f"/api/v1/groups/{group.id}.json")
    assert data["stats"]["members"] == 412
    assert data["stats"]["updates"] == sum(
        1 for m in network.visible_messages() if m.group_id == group.id
    )
    assert data["created_at"].endswith(" +0000")


async def test_users_page_with_num_per_page(network: Network, get_json: Get) -> None:
    first, second = [await get_json("/api/v1/users.json", page=p) for p in (1, 2)]
    assert (len(first), len(second)) == (50, len(network.users) - 50)
    names = [u["full_name"].lower() for u in first + second]
    assert names == sorted(names)
    small = await get_json("/api/v1/users.json", num_per_page=7, page=3)
    assert [u["id"] for u in small] == [u["id"] for u in (first + second)[14:21]]
    user = first[0]
    assert user["admin"] in ("true", "false")
    assert user["verified_admin"] in ("true", "false")
    assert set(user["stats"]) == {"followers", "following", "updates"}
    by_followers = await get_json("/api/v1/users.json", sort_by="followers")
    counts = [u["stats"]["followers"] for u in by_followers]
    assert counts == sorted(counts, reverse=True)


async def test_current_user_and_user_by_id(network: Network, get_json: Get) -> None:
    me = await get_json("/api/v1/users/current.json", include_group_memberships="true")
    assert me["id"] == network.current_user_id
    assert me["email"] == "dana.whitfield@example.com"
    assert len(me["group_memberships"]) == 3
    other = await get_json(f"/api/v1/users/{me['id']}")
    assert other["stats"] == me["stats"]


async def test_liked_message_lists_every_liker(network: Network, get_json: Get) -> None:
    message = max(network.visible_messages(), key=lambda m: len(m.liker_ids))
    network.like(message.id, 60)
    first = await get_json(f"/api/v1/users/liked_message/{message.id}.json")
    second = await get_json(f"/api/v1/users/liked_message/{message.id}.json", page=2)
    assert first["more_available"] is True
    assert second["more_available"] is False
    ids = [u["id"] for u in first["users"] + second["users"]]
    assert sorted(ids) == sorted(message.liker_ids)
    bare = await get_json(f"/api/v1/messages/{message.id}.json")
    assert bare["liked_by"]["count"] == len(ids)
    assert len(bare["liked_by"]["names"]) < len(ids)


async def test_search_finds_topics_by_name_exact_match_first(
    network: Network, get_json: Get
) -> None:
    someone = network.current_user_id
    network.add_message(someone, "Reading list #leadershipbooks")
    network.add_message(someone, "Monday thoughts #Leadership")
    found = await get_json("/api/v1/search.json", search="#leadership")
    names = [t["normalized_name"] for t in found["topics"]]
    assert names[0] == "leadership"
    assert "leadershipbooks" in names
    assert found["count"]["topics"] == len(names)
    assert found["topics"][0]["followers_count"] == found["topics"][0]["followers"]
    assert all("leadership" in m["body"]["plain"].lower() for m in found["messages"]["messages"])
    nothing = await get_json("/api/v1/search.json", search="#nobodyusedthisyet")
    assert nothing["topics"] == []
    assert nothing["count"]["topics"] == 0
    await get_json("/api/v1/search.json", status=400, search=" ")
