"""Seed a ``Network`` with the demo campaign from ``api/domain/demo_content.py``.

Times in the demo content are (day, hour) offsets from the campaign's first Monday (the anchor).
People and groups exist from the start; the campaign's history is a ``DemoScript`` (messages,
likes one at a time over the following day, a deletion, follower changes).  ``build_demo``
plays it up to ``now``; ``demo_script`` hands it to a campaign clock to play (``replay``).

A few things the content module leaves open are decided here, so the simulator exercises the
edge cases the reference lists:

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
from api.simulator.script import DemoScript

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
    """The demo as it stands at ``now`` (default: the present)."""
    script = demo_script(network, anchor, colleagues=colleagues)
    script.advance(network, now or datetime.now(UTC))
    return network


def demo_script(network: Network, anchor: date, *, colleagues: int) -> DemoScript:
    """People and groups (they predate the campaign) in ``network``, and the campaign's
    history as a script to play (see ``DemoScript.advance``)."""
    start = campaign_start(anchor)

    def at(offset: tuple[int, int], minutes: int = 0) -> datetime:
        return start + timedelta(days=offset[0], hours=offset[1], minutes=minutes)

    people = _people(network, start, colleagues)
    network.current_user_id = people[content.LEAD]
    groups = _groups(network, start, people)
    script = DemoScript()

    def thread(
        key: str,
        starter: tuple[str, datetime, str | None, str, int],
        replies: list[tuple[str, tuple[int, int], str, int]],
    ) -> None:
        author, when, group, body, likes = starter
        group_id = groups[group] if group else None
        script.message(when, key, people[author], body, group_id=group_id)
        _likes(script, key, when, likes)
        for n, (r_author, r_when, r_body, r_likes) in enumerate(replies):
            parent = REPLY_TO_REPLY.get((key, n))
            parent_key = f"{key}.{parent}" if parent is not None else key
            script.message(at(r_when), f"{key}.{n}", people[r_author], r_body, parent=parent_key)
            _likes(script, f"{key}.{n}", at(r_when), r_likes)

    for key, author, when, group, body, likes, replies in content.POSTS:
        thread(key, (author, at(when), group, body, likes), replies)
    author, when, body, likes, replies = PRIVATE_THREAD
    thread("private", (author, at(when), "Leadership Circle", body, likes), replies)
    d_author, d_when, d_body, d_likes = content.DELETED_POST
    thread("deleted", (d_author, at(d_when), None, d_body, d_likes), [])
    script.delete(at(d_when, minutes=30), "deleted")
    _followers(script, people, at)
    return script


def _likes(script: DemoScript, key: str, created: datetime, likes: int) -> None:
    # Likes trickle in over the day after a post, one at a time.
    for n in range(1, likes + 1):
        script.likes(created + timedelta(hours=24 * n / (likes + 1)), key, 1)


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
    script: DemoScript, people: dict[str, int], at: Callable[[tuple[int, int]], datetime]
) -> None:
    # The lead's history is in the content; managers gain a few a week, as the seed has it.
    for offset, count in content.LEAD_FOLLOWERS:
        script.followers(at(offset), people[content.LEAD], count)
    for n, (_tag, _name, _description, manager) in enumerate(content.TOPICS):
        base = next(p[4] for p in content.PEOPLE if p[0] == manager)
        for week in range(1, 4):
            script.followers(at((week * 7 - 3, 12)), people[manager], base + week * (2 + n))
