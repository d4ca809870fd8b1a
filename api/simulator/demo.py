"""Seed a ``Network`` with the demo campaign from ``api/domain/demo_content.py``.

Times in the demo content are (day, hour) offsets from the campaign's first Monday (the anchor).
Only what has happened by ``now`` exists.  A few things the content module leaves open are
decided here, so the simulator exercises the edge cases the reference lists:

- the token's user is the lead, who is not in the private "Leadership Circle"; that group gets
  a short thread (tagged #leadership) that the lead must never see;
- one reply answers another reply (a reply to a reply);
- likes need likers and followers need a directory, so the network also has ``colleagues``
  generic people (40 by default, which makes ``users.json`` two pages long).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from api.domain import demo_content as content
from api.simulator.network import Network

# The verified admin of the network (the export token acts on their behalf in real life).
ADMIN_EMAIL = "ivan.petrov@example.com"
PRIVATE_MEMBERS = [
    "aisha.khan@example.com",
    "ben.carter@example.com",
    "chloe.martin@example.com",
    "julia.rossi@example.com",
]
# author, (day, hour), body, likes, [(author, (day, hour), body, likes)]
PRIVATE_THREAD = (
    "chloe.martin@example.com",
    (3, 9),
    "Agenda for Thursday: succession planning and what the survey means for us. #leadership",
    4,
    [("ben.carter@example.com", (3, 12), "I will bring the engineering numbers.", 1)],
)
# (post key, reply index) -> index of the earlier reply it answers; the rest answer the starter.
REPLY_TO_REPLY = {("p18", 1): 0}

LOCATIONS = ["London", "Lisbon", "Chicago", "Singapore", "Berlin"]
FIRST = ["Sam", "Alex", "Jordan", "Taylor", "Morgan", "Riley", "Casey", "Jamie", "Avery", "Quinn"]
LAST = ["Nguyen", "Okafor", "Silva", "Novak", "Haddad", "Kowalski", "Tanaka", "Murphy"]
TITLES = ["Analyst", "Team Lead", "Specialist", "Coordinator", "Engineer"]


def default_anchor(today: date | None = None) -> date:
    """The Monday three weeks before today, as the database seed picks it."""
    today = today or datetime.now(UTC).date()
    start = today - timedelta(days=21)
    return start - timedelta(days=start.weekday())


def campaign_start(anchor: date) -> datetime:
    monday = anchor - timedelta(days=anchor.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def build_demo(network: Network, anchor: date, now: datetime | None, *, colleagues: int) -> Network:
    start = campaign_start(anchor)
    now = now or datetime.now(UTC)

    def at(offset: tuple[int, int], minutes: int = 0) -> datetime:
        return start + timedelta(days=offset[0], hours=offset[1], minutes=minutes)

    people = _people(network, start, colleagues)
    network.current_user_id = people[content.LEAD]
    groups = _groups(network, start, people)

    # Every message, in creation order, so ids grow with time.
    events: list[tuple[datetime, int, str, tuple[object, ...]]] = []
    for key, author, when, group, body, likes, replies in content.POSTS:
        events.append((at(when), 0, key, (author, group, body, likes)))
        for n, (r_author, r_when, r_body, r_likes) in enumerate(replies):
            events.append((at(r_when), 1, f"{key}.{n}", (r_author, key, r_body, r_likes)))
    author, when, body, likes, replies = PRIVATE_THREAD
    events.append((at(when), 0, "private", (author, "Leadership Circle", body, likes)))
    for n, (r_author, r_when, r_body, r_likes) in enumerate(replies):
        events.append((at(r_when), 1, f"private.{n}", (r_author, "private", r_body, r_likes)))
    d_author, d_when, d_body, d_likes = content.DELETED_POST
    events.append((at(d_when), 0, "deleted", (d_author, None, d_body, d_likes)))

    ids: dict[str, int] = {}
    for moment, is_reply, key, (who, where, body_text, like_count) in sorted(events):
        if moment > now:
            continue
        if is_reply:
            post, _, index = key.partition(".")
            parent = REPLY_TO_REPLY.get((post, int(index)))
            replied_to = ids[f"{post}.{parent}"] if parent is not None else ids[str(where)]
            message = network.add_message(
                people[str(who)], str(body_text), replied_to_id=replied_to, at=moment
            )
        else:
            group_id = groups[str(where)] if where else None
            message = network.add_message(
                people[str(who)], str(body_text), group_id=group_id, at=moment
            )
        network.like(message.id, int(str(like_count)))
        ids[key] = message.id

    removed_at = at(d_when, minutes=30)
    if "deleted" in ids and removed_at <= now:
        network.delete(ids["deleted"], at=removed_at)
    _followers(network, people, at, now)
    return network


def _people(network: Network, start: datetime, colleagues: int) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i, (email, name, title, department, followers) in enumerate(content.PEOPLE):
        user = network.add_user(
            name,
            email,
            job_title=title,
            department=department,
            location=LOCATIONS[i % len(LOCATIONS)],
            followers=followers,
            following=10 + (i + 1) * 3,
            admin=email == ADMIN_EMAIL,
            at=start - timedelta(days=400 - 9 * i),
        )
        ids[email] = user.id
    departments = sorted({person[3] for person in content.PEOPLE})
    for i in range(colleagues):
        first, last = FIRST[i % len(FIRST)], LAST[(3 * i + i // len(FIRST)) % len(LAST)]
        email = f"{first}.{last}".lower() + ("" if i < 80 else str(i)) + "@example.com"
        user = network.add_user(
            f"{first} {last}",
            email,
            job_title=TITLES[i % len(TITLES)],
            department=departments[i % len(departments)],
            location=LOCATIONS[(i + 2) % len(LOCATIONS)],
            followers=3 + (7 * i) % 40,
            following=5 + (3 * i) % 25,
            at=start - timedelta(days=200 - i),
        )
        ids[email] = user.id
    return ids


def _groups(network: Network, start: datetime, people: dict[str, int]) -> dict[str, int]:
    ids: dict[str, int] = {}
    lead = people[content.LEAD]
    for i, (name, description, privacy, members, joined, _tracked) in enumerate(content.GROUPS):
        private = privacy.name == "PRIVATE"
        if private:
            member_ids = {people[email] for email in PRIVATE_MEMBERS}
        else:
            member_ids = {uid for uid in people.values() if joined or uid != lead}
        group = network.add_group(
            name,
            description=description,
            private=private,
            creator_id=next(iter(sorted(member_ids))) if private else lead,
            member_ids=member_ids,
            declared_members=members,
            at=start - timedelta(days=300 - 30 * i),
        )
        ids[name] = group.id
    return ids


def _followers(
    network: Network, people: dict[str, int], when: Callable[..., datetime], now: datetime
) -> None:
    # The lead's history is in the content; managers gain a few a week, as the seed has it.
    lead = [count for offset, count in content.LEAD_FOLLOWERS if when(offset) <= now]
    if lead:
        network.set_followers(people[content.LEAD], lead[-1])
    for n, (_tag, _name, _description, manager) in enumerate(content.TOPICS):
        base = next(p[4] for p in content.PEOPLE if p[0] == manager)
        weeks = [week for week in range(1, 4) if when((week * 7 - 3, 12)) <= now]
        if weeks:
            network.set_followers(people[manager], base + weeks[-1] * (2 + n))
