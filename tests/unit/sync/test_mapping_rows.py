"""Rows carry only what a payload says: a reference must not blank what the directory knows."""

from __future__ import annotations

from api.db.repositories.mirror import Placeholder
from api.domain.enums import GroupPrivacy
from api.sync import mapping
from api.sync.payloads import Group, User


def test_a_user_reference_leaves_out_what_it_does_not_carry() -> None:
    row = mapping.person_row(User(id=1, full_name="Ana", mugshot_url="https://m/a.png?sig=1"))
    assert row == {
        "external_id": 1,
        "full_name": "Ana",
        "avatar_url": Placeholder("https://m/a.png?sig=1"),
    }


def test_the_stable_avatar_url_is_preferred() -> None:
    user = User(id=1, mugshot_url="https://m/a.png?sig=1", mugshot_redirect_url="https://r/a.png")
    row = mapping.person_row(user)
    assert row["avatar_url"] == "https://r/a.png"
    assert row["full_name"] == Placeholder("User 1")


def test_a_former_member_does_not_claim_their_old_address() -> None:
    active = mapping.person_row(User(id=1, email="A@Example.com", state="active"))
    former = mapping.person_row(User(id=1, email="a@example.com", state="soft_delete"))
    assert active["email"] == "a@example.com"
    assert "email" not in former


def test_only_the_tokens_own_groups_are_marked_accessible() -> None:
    group = Group(id=2, full_name="Board", privacy="private")
    assert "accessible" not in mapping.group_row(group)
    assert mapping.group_row(group, joined=True)["accessible"] is True


def test_a_group_reference_without_privacy_or_description() -> None:
    row = mapping.group_row(Group(id=2))
    assert row == {
        "external_id": 2,
        "name": Placeholder("Group 2"),
        "privacy": Placeholder(GroupPrivacy.PRIVATE),
    }
