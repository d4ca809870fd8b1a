"""Which messages the mirror may store (api.sync.privacy.may_store)."""

from __future__ import annotations

from typing import Any

import pytest

from api.sync.payloads import Group, Message
from api.sync.privacy import may_store
from tests.unit.sync.fakes import message

PUBLIC, PRIVATE, TRACKED = 1, 2, 3
GROUPS = {
    PUBLIC: Group(id=PUBLIC, privacy="public"),
    PRIVATE: Group(id=PRIVATE, privacy="private"),
    TRACKED: Group(id=TRACKED, privacy="private"),
}


def msg(group_id: int | None, **fields: Any) -> Message:
    return Message.model_validate(message(1_000, group_id=group_id) | fields)


@pytest.mark.parametrize(
    ("group_id", "fields", "stored"),
    [
        (PUBLIC, {"privacy": "public"}, True),
        (PRIVATE, {"privacy": "private"}, False),
        (TRACKED, {"privacy": "private"}, True),  # an admin chose this community
        (PRIVATE, {"privacy": None}, False),  # the group's reference says private
        (PUBLIC, {"privacy": None}, True),
        (999, {"privacy": None}, False),  # unknown group, unknown privacy: private
        (None, {"privacy": None}, True),  # storyline: as public as its author
        (None, {"direct_message": True, "privacy": "private"}, False),
        (TRACKED, {"direct_message": True}, False),  # never a direct message
    ],
)
def test_only_public_or_tracked_messages_are_stored(
    group_id: int | None, fields: dict[str, Any], stored: bool
) -> None:
    assert may_store(msg(group_id, **fields), GROUPS, {TRACKED}) is stored
