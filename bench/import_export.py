"""Rows per second of `campaign import-export` on a synthetic export ZIP.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_export.py --messages 100000

Writes a ZIP with the export's CSV columns (spec §6.3), imports it into a scratch database
(dropped afterwards) twice, and prints rows per second for the first import and the re-import.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.sync.export_import import import_export  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402

WORDS = [
    "leadership",
    "team",
    "change",
    "coaching",
    "recognition",
    "feedback",
    "podcast",
    "course",
    "managers",
    "trust",
]
TAGS = ["#leadership", "#managing", "#change", "#engagement", "#wellbeing"]


def build_zip(path: Path, messages: int, users: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def table(header: list[str], rows: list[list[object]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()

    user_rows = [
        [
            10_000 + u,
            f"Person {u}",
            f"person{u}@example.com",
            "Manager",
            "",
            "Sales",
            "",
            "",
            "",
            start.isoformat(),
            "",
            "",
            "",
            "",
            "",
            "active",
        ]
        for u in range(users)
    ]
    group_rows = [
        [500 + g, f"Group {g}", "", "false", "false", "false", start.isoformat(), start.isoformat()]
        for g in range(10)
    ]
    message_rows = []
    starters: list[int] = []
    for i in range(messages):
        mid = 4_000_000_000_000_000 + i
        created = start + timedelta(minutes=i)
        if starters and rng.random() < 0.3:
            thread = rng.choice(starters[-500:])
        else:
            thread = mid
            starters.append(mid)
        body = " ".join(rng.choices(WORDS, k=12)) + " " + rng.choice(TAGS)
        message_rows.append(
            [
                mid,
                "" if thread == mid else thread,
                "",
                thread,
                "",
                500 + i % 10,
                "",
                "",
                "false",
                "false",
                10_000 + rng.randrange(users),
                "user",
                "",
                "",
                body,
                "",
                "",
                "",
                "",
                "",
                created.isoformat(),
                "",
                "",
                "",
                "update",
                "",
            ]
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "Users.csv",
            table(
                [
                    "id",
                    "name",
                    "email",
                    "job_title",
                    "location",
                    "department",
                    "api_url",
                    "deleted_by_id",
                    "deleted_by_type",
                    "joined_at",
                    "deleted_at",
                    "suspended_by_id",
                    "suspended_by_type",
                    "suspended_at",
                    "guid",
                    "state",
                ],
                user_rows,
            ),
        )
        archive.writestr(
            "Groups.csv",
            table(
                [
                    "id",
                    "name",
                    "description",
                    "private",
                    "deleted",
                    "external",
                    "created_at",
                    "updated_at",
                ],
                group_rows,
            ),
        )
        archive.writestr("Topics.csv", table(["id", "name", "created_at"], []))
        archive.writestr(
            "Messages.csv",
            table(
                [
                    "id",
                    "replied_to_id",
                    "parent_id",
                    "thread_id",
                    "conversation_id",
                    "group_id",
                    "group_name",
                    "participants",
                    "in_private_group",
                    "in_private_conversation",
                    "sender_id",
                    "sender_type",
                    "sender_name",
                    "sender_email",
                    "body",
                    "delegate_id",
                    "api_url",
                    "attachments",
                    "deleted_by_id",
                    "deleted_by_type",
                    "created_at",
                    "deleted_at",
                    "title",
                    "html_body",
                    "message_type",
                    "gdpr_delete_url",
                ],
                message_rows,
            ),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=5_000)
    args = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.zip"
        build_zip(path, args.messages, args.users)
        for label in ("first import", "re-import"):
            started = time.perf_counter()
            stats = asyncio.run(import_export(url, path))
            seconds = time.perf_counter() - started
            print(
                f"{label}: {stats.rows:,} rows in {seconds:.1f} s = {stats.rows / seconds:,.0f} rows/s ({stats})"
            )


if __name__ == "__main__":
    main()
