"""Every connection works in UTC, whatever zone the server or database is configured with."""

from __future__ import annotations

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api.db.session import Database, asyncpg_connect_args
from tests.dbs import admin

# UTC+14: its date is a day ahead of UTC's for ten hours of every day.
ZONE = "Pacific/Kiritimati"


async def test_sessions_use_utc_when_the_database_default_is_another_zone(
    fresh_url: str,
) -> None:
    await admin(
        fresh_url, f"ALTER DATABASE \"{make_url(fresh_url).database}\" SET timezone = '{ZONE}'"
    )
    raw = {k: v for k, v in asyncpg_connect_args(fresh_url).items() if k != "server_settings"}
    conn = await asyncpg.connect(**raw)
    try:
        assert await conn.fetchval("SHOW timezone") == ZONE  # the setting took effect
    finally:
        await conn.close()

    today_in_utc = "SELECT current_date = (now() AT TIME ZONE 'UTC')::date"
    db = Database.connect(fresh_url, pool_size=1)
    try:
        async with db.reading() as session:
            assert (await session.execute(sa.text("SHOW timezone"))).scalar_one() == "UTC"
            assert (await session.execute(sa.text(today_in_utc))).scalar_one() is True
        async with db.unit_of_work() as session:
            assert (await session.execute(sa.text("SHOW timezone"))).scalar_one() == "UTC"
    finally:
        await db.dispose()

    # Raw connections (export import, generator) get the same pinning.
    conn = await asyncpg.connect(**asyncpg_connect_args(fresh_url))
    try:
        assert await conn.fetchval("SHOW timezone") == "UTC"
        assert await conn.fetchval(today_in_utc) is True
    finally:
        await conn.close()
