"""Live activity: new posts with campaign hashtags, replies, likes and followers over time.

``LiveActivity.step()`` makes one change, chosen by a seeded RNG; the app's background task
calls it every ``config.live_activity_seconds`` (when set), and ``POST /_sim/activity`` can too.
Under a demo replay its changes happen at the campaign clock's time (``Network.clock``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from api.domain import demo_content as content
from api.simulator.config import SimulatorConfig
from api.simulator.model import Message
from api.simulator.network import Network, NotFound

HASHTAGS = [tag for tag, *_ in content.TOPICS]
TIPS = [
    "Tip: ask your team what they would stop doing if they could.",
    "Tip: thank someone for something specific before Friday.",
    "Quote: “The best leaders are incomplete, and know it.”",
    f"Catch up on the Engaged Managers podcast: {content.PODCAST}",
    f"Still time to enrol in Leading Through Change: {content.COURSE_CHANGE}",
    "Question: what is one habit that made you a better manager this year?",
]
REPLIES = [
    "Thanks for sharing!",
    "Trying this with my team.",
    "Great point.",
    "Adding this to my notes.",
]
TICK_SECONDS = 0.2
KINDS = ("post", "reply", "like", "followers")
WEIGHTS = (3, 3, 3, 1)


class LiveActivity:
    def __init__(self, network: Network, *, seed: int = 0) -> None:
        self.network = network
        self.rng = random.Random(seed)
        self.posts = 0

    def snapshot(self) -> tuple[Any, int]:
        """What a saved demo keeps of it, so a resumed one does not repeat its choices."""
        return self.rng.getstate(), self.posts

    def restore(self, snapshot: tuple[Any, int]) -> None:
        state, self.posts = snapshot
        self.rng.setstate(state)

    def _staff(self) -> list[int]:
        emails = [content.LEAD, *(manager for *_, manager in content.TOPICS)]
        ids = []
        for email in emails:
            try:
                ids.append(self.network.user_by_email(email).id)
            except NotFound:
                continue
        return ids or sorted(self.network.users)

    def _recent(self) -> list[Message]:
        return self.network.visible_messages()[-30:]

    def step(self, kind: str | None = None) -> dict[str, Any]:
        kind = kind or self.rng.choices(KINDS, WEIGHTS)[0]
        if kind == "reply" and self._recent():
            return self.reply()
        if kind == "like" and self._recent():
            return self.like()
        if kind == "followers":
            return self.followers()
        return self.post()

    def post(self) -> dict[str, Any]:
        network = self.network
        sender = self.rng.choice(self._staff())
        # Where the token's user can read it: a public group the sender is in, or no group.
        places: list[int | None] = [
            g.id for g in network.groups.values() if not g.private and sender in g.member_ids
        ]
        places.append(None)
        group_id = self.rng.choice(places)
        self.posts += 1
        body = f"{self.rng.choice(TIPS)} #{self.rng.choice(HASHTAGS)} (live {self.posts})"
        message = network.add_message(sender, body, group_id=group_id)
        return {"action": "post", "message_id": message.id, "thread_id": message.thread_id}

    def reply(self) -> dict[str, Any]:
        parent = self.rng.choice(self._recent())
        sender = self.rng.choice(sorted(self.network.users))
        message = self.network.add_message(
            sender, self.rng.choice(REPLIES), replied_to_id=parent.id
        )
        return {"action": "reply", "message_id": message.id, "thread_id": message.thread_id}

    def like(self) -> dict[str, Any]:
        target = self.rng.choice(self._recent())
        count = self.network.like(target.id, self.rng.randint(1, 3))
        return {"action": "like", "message_id": target.id, "likes": count}

    def followers(self) -> dict[str, Any]:
        user = self.network.user(self.rng.choice(self._staff()))
        self.network.set_followers(user.id, user.followers + self.rng.randint(1, 2))
        return {"action": "followers", "user_id": user.id, "followers": user.followers}


async def run_live_activity(
    activity: LiveActivity, config: SimulatorConfig, tick: Callable[[], None] = lambda: None
) -> None:
    """Forever: ``tick`` (the demo's clock plays its script) a few times a second, and one
    step per ``config.live_activity_seconds`` (idle while it is None or 0)."""
    loop = asyncio.get_running_loop()
    due: float | None = None
    while True:
        interval = config.live_activity_seconds  # re-read: it may be flipped at runtime
        await asyncio.sleep(min(TICK_SECONDS, interval or TICK_SECONDS))
        tick()
        interval = config.live_activity_seconds
        if not interval:
            due = None
            continue
        if due is None:
            due = loop.time() + interval
        if loop.time() >= due:
            activity.step()
            due = loop.time() + interval
