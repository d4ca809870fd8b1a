"""The data export ZIP: admin only, CSVs with the reference's columns, matching the network."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.simulator import Network, build_export_zip
from api.simulator.demo import campaign_start
from tests.simulator.conftest import ADMIN, ANCHOR

pytestmark = pytest.mark.unit

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LONG_AGO = datetime(2015, 1, 1, tzinfo=UTC)
# Reference §6.3 / §9.10, in that order.
MESSAGE_HEADER = (
    "id,replied_to_id,parent_id,thread_id,conversation_id,group_id,group_name,participants,in_private_group,"
    "in_private_conversation,sender_id,sender_type,sender_name,sender_email,body,delegate_id,api_url,attachments,"
    "deleted_by_id,deleted_by_type,created_at,deleted_at,title,html_body,message_type,gdpr_delete_url"
)
USER_HEADER = (
    "id,name,email,job_title,location,department,api_url,deleted_by_id,deleted_by_type,joined_at,deleted_at,"
    "suspended_by_id,suspended_by_type,suspended_at,guid,state"
)


def _read(archive: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.testzip() is None
        return {
            name: list(csv.DictReader(io.StringIO(z.read(name).decode())))
            for name in z.namelist()
            if name.endswith(".csv")
        }


def _header(archive: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return z.read(name).decode().splitlines()[0]


async def test_export_over_http_is_for_admins_only(client: httpx.AsyncClient) -> None:
    params = {"since": "2015-01-01T00:00:00+00:00", "include": "csv"}
    assert (await client.get("/api/v1/export", params=params)).status_code == 403
    response = await client.get("/api/v1/export", params=params, headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert re.match(
        r'attachment; filename="export-\d+\.zip"', response.headers["content-disposition"]
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        assert sorted(z.namelist()) == sorted(
            ["Messages.csv", "Users.csv", "Groups.csv", "Topics.csv", "log.txt", "request.txt"]
        )
        assert "since=2015-01-01T00:00:00+00:00" in z.read("request.txt").decode()
    assert (await client.get("/api/v1/export", headers=ADMIN)).status_code == 400
    bad = {"since": "2015-01-01", "model": "Nope"}
    assert (await client.get("/api/v1/export", params=bad, headers=ADMIN)).status_code == 400
    only_users = await client.get(
        "/api/v1/export.json", params={"since": "2015-01-01", "model": "User"}, headers=ADMIN
    )
    assert set(_read(only_users.content)) == {"Users.csv"}


def test_messages_csv_matches_the_network(network: Network) -> None:
    archive = build_export_zip(network, LONG_AGO)
    assert _header(archive, "Messages.csv") == MESSAGE_HEADER
    rows = {int(r["id"]): r for r in _read(archive)["Messages.csv"]}
    # Everything, private group and deleted post included: the export is the admin's view.
    assert set(rows) == set(network.messages)
    for message in network.messages.values():
        row = rows[message.id]
        assert row["body"] == message.body
        assert int(row["thread_id"]) == message.thread_id
        assert row["replied_to_id"] == row["parent_id"] == (str(message.replied_to_id or ""))
        assert int(row["sender_id"]) == message.sender_id
        assert ISO.match(row["created_at"])
        assert datetime.fromisoformat(row["created_at"]) == message.created_at
        private = message.group_id is not None and network.groups[message.group_id].private
        assert row["in_private_group"] == ("true" if private else "false")
        assert bool(row["deleted_at"]) == (message.deleted_at is not None)
    deleted = next(r for r in rows.values() if r["deleted_at"])
    assert deleted["deleted_by_type"] == "User"
    assert ISO.match(deleted["deleted_at"])
    starter = next(r for r in rows.values() if r["thread_id"] == r["id"])
    assert starter["gdpr_delete_url"].endswith(
        f"/messages/{starter['id']}/hard_delete_confirmation"
    )


def test_users_groups_and_topics_csv(network: Network, tmp_path: Path) -> None:
    path = tmp_path / "export-1.zip"
    path.write_bytes(build_export_zip(network, LONG_AGO))
    archive = path.read_bytes()
    assert _header(archive, "Users.csv") == USER_HEADER
    tables = _read(archive)
    users = {int(r["id"]): r for r in tables["Users.csv"]}
    assert set(users) == set(network.users)
    lead = users[network.current_user_id]
    assert (lead["name"], lead["email"], lead["state"]) == (
        "Dana Whitfield",
        "dana.whitfield@example.com",
        "active",
    )
    groups = {r["name"]: r for r in tables["Groups.csv"]}
    assert groups["Leadership Circle"]["private"] == "true"
    assert groups["All Company"]["private"] == "false"
    assert {r["name"] for r in tables["Topics.csv"]} == {t.name for t in network.topics.values()}
    assert all(ISO.match(r["created_at"]) for r in tables["Topics.csv"])


def test_the_range_selects_created_edited_and_deleted_content(network: Network) -> None:
    start = campaign_start(ANCHOR)
    week_two = (start + timedelta(days=7), start + timedelta(days=14))
    rows = _read(build_export_zip(network, *week_two))
    ids = {int(r["id"]) for r in rows["Messages.csv"]}
    expected = {
        m.id for m in network.messages.values() if week_two[0] <= m.created_at < week_two[1]
    }
    assert ids == expected
    assert ids
    assert rows["Users.csv"] == []
    assert rows["Topics.csv"] == []
    # An old message edited now is "modified in the range" of a later export.
    old = network.visible_messages()[0]
    network.edit(old.id, "Updated welcome #leadership", at=start + timedelta(days=30))
    later = _read(build_export_zip(network, start + timedelta(days=29)))
    assert old.id in {int(r["id"]) for r in later["Messages.csv"]}
