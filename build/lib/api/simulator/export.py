"""The network data export: a ZIP of CSVs as ``GET /api/v1/export`` returns it (reference §6).

Column names follow §6.3 (Messages.csv and Users.csv as documented; the Groups.csv and
Topics.csv link and creator columns are our pick where the reference marks names unconfirmed).
Timestamps are ISO-like (``2023-05-16T18:42:34Z``); booleans are ``true``/``false``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from api.simulator import render
from api.simulator.formats import export_time
from api.simulator.network import Network

MESSAGE_COLUMNS = (
    *("id", "replied_to_id", "parent_id", "thread_id", "conversation_id", "group_id", "group_name"),
    *("participants", "in_private_group", "in_private_conversation", "sender_id", "sender_type"),
    *("sender_name", "sender_email", "body", "delegate_id", "api_url", "attachments"),
    *("deleted_by_id", "deleted_by_type", "created_at", "deleted_at", "title", "html_body"),
    *("message_type", "gdpr_delete_url"),
)
USER_COLUMNS = (
    *("id", "name", "email", "job_title", "location", "department", "api_url", "deleted_by_id"),
    *("deleted_by_type", "joined_at", "deleted_at", "suspended_by_id", "suspended_by_type"),
    *("suspended_at", "guid", "state"),
)
GROUP_COLUMNS = (
    *("id", "name", "description", "private", "deleted", "external", "created_at", "updated_at"),
    *("api_url", "creator_id"),
)
TOPIC_COLUMNS = ("id", "name", "created_at", "creator_id", "api_url")
# model parameter -> file
MODELS = {
    "Message": "Messages.csv",
    "User": "Users.csv",
    "Group": "Groups.csv",
    "Topic": "Topics.csv",
}


def _in(moment: datetime | None, since: datetime, until: datetime | None) -> bool:
    return moment is not None and since <= moment and (until is None or moment < until)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def message_rows(network: Network, since: datetime, until: datetime | None) -> list[list[str]]:
    rows = []
    # "Sent or modified in the range": created, edited or deleted within it.
    for m in sorted(network.messages.values(), key=lambda m: m.id):
        if not any(_in(t, since, until) for t in (m.created_at, m.edited_at, m.deleted_at)):
            continue
        group = network.groups.get(m.group_id) if m.group_id is not None else None
        sender = network.users[m.sender_id]
        row = {
            "id": m.id,
            "replied_to_id": m.replied_to_id,
            "parent_id": m.replied_to_id,
            "thread_id": m.thread_id,
            "group_id": m.group_id,
            "group_name": group.full_name if group else None,
            "in_private_group": _flag(bool(group and group.private)),
            "in_private_conversation": _flag(False),
            "sender_id": sender.id,
            "sender_type": "User",
            "sender_name": sender.full_name,
            "sender_email": sender.email,
            "body": m.body,
            "api_url": f"{render.API}/messages/{m.id}",
            "deleted_by_id": m.deleted_by_id,
            "deleted_by_type": "User" if m.deleted_by_id else None,
            "created_at": export_time(m.created_at),
            "deleted_at": export_time(m.deleted_at),
            "html_body": render.body_json(network, m)["rich"],
            "message_type": "update",
            "gdpr_delete_url": f"https://www.yammer.com/messages/{m.thread_id}/hard_delete_confirmation",
        }
        rows.append([_cell(row.get(column)) for column in MESSAGE_COLUMNS])
    return rows


def user_rows(network: Network, since: datetime, until: datetime | None) -> list[list[str]]:
    return [
        [
            _cell(v)
            for v in (
                u.id, u.full_name, u.email, u.job_title, u.location, u.department,
                f"{render.API}/users/{u.id}", None, None, export_time(u.activated_at),
                None, None, None, None, None, u.state,
            )
        ]
        for u in sorted(network.users.values(), key=lambda u: u.id)
        if _in(u.activated_at, since, until)
    ]  # fmt: skip


def group_rows(network: Network, since: datetime, until: datetime | None) -> list[list[str]]:
    return [
        [
            _cell(v)
            for v in (
                g.id, g.full_name, g.description, _flag(g.private), "false", "false",
                export_time(g.created_at), export_time(g.updated_at or g.created_at),
                f"{render.API}/groups/{g.id}", g.creator_id,
            )
        ]
        for g in sorted(network.groups.values(), key=lambda g: g.id)
        if _in(g.created_at, since, until) or _in(g.updated_at, since, until)
    ]  # fmt: skip


def topic_rows(network: Network, since: datetime, until: datetime | None) -> list[list[str]]:
    return [
        [
            _cell(v)
            for v in (
                t.id,
                t.name,
                export_time(t.created_at),
                t.creator_id,
                f"{render.API}/topics/{t.id}",
            )
        ]
        for t in sorted(network.topics.values(), key=lambda t: t.id)
        if _in(t.created_at, since, until)
    ]


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def build_export_zip(
    network: Network,
    since: datetime,
    until: datetime | None = None,
    *,
    models: Sequence[str] | None = None,
) -> bytes:
    """The export ZIP for content created or modified in ``[since, until)`` (until: open)."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    until = until if until is None or until.tzinfo else until.replace(tzinfo=UTC)
    wanted = set(models or MODELS)
    files = {
        "Message": (MESSAGE_COLUMNS, message_rows),
        "User": (USER_COLUMNS, user_rows),
        "Group": (GROUP_COLUMNS, group_rows),
        "Topic": (TOPIC_COLUMNS, topic_rows),
    }
    buffer = io.BytesIO()
    summary = [
        f"Network data export for network {network.network_id}",
        f"since: {since.isoformat()}",
        f"until: {until.isoformat() if until else '(now)'}",
        f"exported at: {datetime.now(UTC).isoformat()}",
    ]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for model, (header, make_rows) in files.items():
            if model in wanted:
                rows = make_rows(network, since, until)
                archive.writestr(MODELS[model], _csv(header, rows))
                summary.append(f"{MODELS[model]}: {len(rows)} rows")
        archive.writestr("log.txt", "\n".join(summary) + "\n")
        query = [
            f"since={since.isoformat()}",
            *(f"model={m}" for m in sorted(wanted)),
            "include=csv",
        ]
        if until:
            query.insert(1, f"until={until.isoformat()}")
        archive.writestr("request.txt", "GET /api/v1/export?" + "&".join(query) + "\n")
    return buffer.getvalue()
