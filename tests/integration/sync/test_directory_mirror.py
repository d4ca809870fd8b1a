"""People, groups and topic ids stay right while feed pages keep referring to them.

Feed pages carry *references* (spec §4.3): fewer fields than the directory's full objects,
and whatever the microblog says about a user now, including a former member's old address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from api.db.repositories import mirror, topics
from api.db.session import Database
from api.sync import mapping
from api.sync.payloads import Group, User, UserStats
from api.sync.scheduler import Worker
from tests.integration.sync.conftest import Sim, rows

T2 = datetime(2026, 1, 2, tzinfo=UTC)
T1 = T2 - timedelta(hours=1)
T3 = T2 + timedelta(hours=1)


async def _person(db: Database, external_id: int) -> tuple[object, ...]:
    [row] = await rows(
        db,
        "SELECT full_name, email, job_title, department, avatar_url, web_url FROM person"
        " WHERE external_id = :e",
        e=external_id,
    )
    return tuple(row)


# -- 1. references do not wipe what the directory knows ------------------------------------------


async def test_feed_pages_keep_departments_and_stable_avatars(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    query = (
        "SELECT external_id, department, avatar_url FROM person"
        " WHERE department IS NOT NULL ORDER BY external_id"
    )
    from_directory = await rows(db, query)
    assert from_directory  # the directory gave departments and the stable redirect URLs
    await worker.run_once()
    assert await rows(db, query) == from_directory


async def test_a_reference_never_blanks_a_known_profile(fresh_db: Database) -> None:
    full = User(
        id=7,
        full_name="Ana Lima",
        email="Ana.Lima@example.com",
        job_title="PM",
        department="Product",
        mugshot_url="https://mugshot0.example/48x48/a.png?sig=1",
        mugshot_redirect_url="https://www.yammer.com/mugshot/images/redirect/48x48/a.png",
        web_url="https://www.yammer.com/example.com/users/7",
        stats=UserStats(followers=3),
    )
    reference = User(id=7, mugshot_url="https://mugshot0.example/48x48/a.png?sig=2")
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(session, [mapping.person_row(full)], T1)
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(session, [mapping.person_row(reference)], T2)
    assert await _person(fresh_db, 7) == (
        "Ana Lima",
        "ana.lima@example.com",
        "PM",
        "Product",
        "https://www.yammer.com/mugshot/images/redirect/48x48/a.png",
        "https://www.yammer.com/example.com/users/7",
    )


async def test_someone_known_only_by_reference_still_gets_a_name_and_avatar(
    fresh_db: Database,
) -> None:
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(
            session, [mapping.person_row(User(id=8, mugshot_url="https://m.example/8.png"))], T1
        )
    name, _, _, _, avatar, _ = await _person(fresh_db, 8)
    assert (name, avatar) == ("User 8", "https://m.example/8.png")
    # The directory's stable URL then replaces the stopgap.
    full = User(id=8, full_name="Bo", mugshot_redirect_url="https://r.example/8.png")
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(session, [mapping.person_row(full)], T2)
    name, _, _, _, avatar, _ = await _person(fresh_db, 8)
    assert (name, avatar) == ("Bo", "https://r.example/8.png")


async def test_a_group_reference_keeps_its_description_and_privacy(fresh_db: Database) -> None:
    full = Group(id=9, full_name="Sales Floor", description="Where deals happen", privacy="public")
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_groups(session, [mapping.group_row(full)], T1)
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_groups(session, [mapping.group_row(Group(id=9))], T2)
    got = await rows(
        fresh_db, "SELECT name, description, privacy FROM microblog_group WHERE external_id = 9"
    )
    assert got == [("Sales Floor", "Where deals happen", "PUBLIC")]


# -- 2. a reused email address --------------------------------------------------------------------


async def test_an_address_given_to_a_new_hire_does_not_stop_the_mirror(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    network = sim.network
    group = next(g for g in network.groups.values() if g.full_name == "Employee Engagement")
    leaver = list(network.users.values())[-1]
    old_post = network.add_message(leaver.id, "Last day, thanks all #engagement", group_id=group.id)
    await worker.run_once()
    address = leaver.email.lower()

    leaver.state = "soft_delete"  # leaves users.json; pages still refer to them, old address too
    hire = network.add_user("Rehired Person", leaver.email)
    async with db.unit_of_work() as session:  # the directory is read on this pass
        await session.execute(sa.text("DELETE FROM sync_mark WHERE name = 'directory'"))

    for _ in range(2):  # the leaver's old post, still on the feeds, must not take it back
        summary = await worker.run_once()
        assert summary.status == "SUCCEEDED", summary
        [(hire_email,)] = await rows(
            db, "SELECT email FROM person WHERE external_id = :e", e=hire.id
        )
        [(leaver_email,)] = await rows(
            db, "SELECT email FROM person WHERE external_id = :e", e=leaver.id
        )
        assert (hire_email, leaver_email) == (address, None)
    [(author,)] = await rows(
        db,
        "SELECT a.external_id FROM post p JOIN person a ON a.id = p.author_id"
        " WHERE p.external_id = :e",
        e=old_post.id,
    )
    assert author == leaver.id


async def test_an_older_reading_never_takes_an_address_from_a_newer_holder(
    fresh_db: Database,
) -> None:
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(
            session, [{"external_id": 1, "full_name": "New", "email": "x@example.com"}], T2
        )
    async with fresh_db.unit_of_work() as session:  # a page read before the address moved
        await mirror.upsert_people(
            session, [{"external_id": 2, "full_name": "Old", "email": "x@example.com"}], T1
        )
    got = await rows(fresh_db, "SELECT external_id, email FROM person ORDER BY external_id")
    assert got == [(1, "x@example.com"), (2, None)]


async def test_one_address_twice_in_a_batch_is_left_out_not_fatal(fresh_db: Database) -> None:
    batch = [
        {"external_id": 1, "full_name": "A", "email": "x@example.com"},
        {"external_id": 2, "full_name": "B", "email": "x@example.com"},
    ]
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(session, batch, T1)
    got = await rows(fresh_db, "SELECT external_id, email FROM person ORDER BY external_id")
    assert got == [(1, None), (2, None)]


async def test_two_people_can_swap_addresses(fresh_db: Database) -> None:
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(
            session,
            [
                {"external_id": 1, "full_name": "A", "email": "a@example.com"},
                {"external_id": 2, "full_name": "B", "email": "b@example.com"},
            ],
            T1,
        )
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_people(
            session,
            [
                {"external_id": 1, "full_name": "A", "email": "b@example.com"},
                {"external_id": 2, "full_name": "B", "email": "a@example.com"},
            ],
            T2,
        )
    got = await rows(fresh_db, "SELECT external_id, email FROM person ORDER BY external_id")
    assert got == [(1, "b@example.com"), (2, "a@example.com")]


# -- 3. a stale follower reading -----------------------------------------------------------------


async def test_a_stale_follower_reading_is_neither_recorded_nor_announced(
    fresh_db: Database,
) -> None:
    async with fresh_db.unit_of_work() as session:
        _, first = await mirror.upsert_people(
            session, [{"external_id": 5, "full_name": "X", "follower_count": 10}], T2
        )
    assert [(followers, delta) for _, followers, delta in first] == [(10, 0)]
    async with fresh_db.unit_of_work() as session:
        _, changes = await mirror.upsert_people(
            session, [{"external_id": 5, "full_name": "X", "follower_count": 5}], T1
        )
    assert changes == []  # what the worker's NOTIFY payload is built from
    assert await rows(fresh_db, "SELECT follower_count FROM person") == [(10,)]
    assert await rows(fresh_db, "SELECT observed_at, followers FROM follower_snapshot") == [
        (T2, 10)
    ]
    # A newer reading still is.
    async with fresh_db.unit_of_work() as session:
        _, changes = await mirror.upsert_people(
            session, [{"external_id": 5, "full_name": "X", "follower_count": 12}], T3
        )
    assert [(followers, delta) for _, followers, delta in changes] == [(12, 2)]


# -- 4. groups the token cannot read ---------------------------------------------------------------


async def test_a_reference_does_not_make_an_unreadable_group_accessible(
    fresh_db: Database,
) -> None:
    private = Group(id=11, full_name="Board", privacy="private")
    async with fresh_db.unit_of_work() as session:
        await mirror.upsert_groups(session, [mapping.group_row(private)], T1)
        await mirror.mark_group_inaccessible(session, 11)  # its feed answered 403
    async with fresh_db.unit_of_work() as session:  # a page or the directory mentions it
        await mirror.upsert_groups(session, [mapping.group_row(private)], T2)
    query = "SELECT accessible, joined FROM microblog_group WHERE external_id = 11"
    assert await rows(fresh_db, query) == [(False, False)]
    async with fresh_db.unit_of_work() as session:  # the token joined: groups.json?mine=true
        await mirror.upsert_groups(session, [mapping.group_row(private, joined=True)], T3)
    assert await rows(fresh_db, query) == [(True, True)]


# -- 5. a renamed topic ------------------------------------------------------------------------------


async def test_a_topic_renamed_to_another_campaign_hashtag_does_not_stop_the_mirror(
    sim: Sim, mirrored: tuple[Database, Worker]
) -> None:
    db, worker = mirrored
    network = sim.network
    await worker.run_once()
    async with db.unit_of_work() as session:
        [(campaign_id,)] = (await session.execute(sa.text("SELECT id FROM campaign"))).all()
        await topics.create_topic(
            session,
            campaign_id=campaign_id,
            hashtag="wellbeing",
            name="Wellbeing",
            description=None,
        )
    before = await rows(db, "SELECT hashtag, external_id FROM topic ORDER BY hashtag")
    [renamed] = [t for t in network.topics.values() if t.normalized_name == "change"]
    renamed.name = renamed.normalized_name = "wellbeing"  # renamed on the microblog
    network.version += 1
    group = next(g for g in network.groups.values() if g.full_name == "Employee Engagement")
    new = network.add_message(network.current_user_id, "Still on it #engagement", group_id=group.id)

    summary = await worker.run_once()

    assert summary.status == "SUCCEEDED", summary
    # The id stays with the topic that had it; nothing is silently re-pointed.
    assert await rows(db, "SELECT hashtag, external_id FROM topic ORDER BY hashtag") == before
    assert await rows(db, "SELECT body FROM post WHERE external_id = :e", e=new.id) == [(new.body,)]
