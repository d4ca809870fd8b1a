"""What pages tell the freshness policy for free, and how a walk's count is made to agree.

Unthreaded feeds show new replies in old threads, and every page's thread references carry
the thread's stats (``updates``, ``latest_reply_id``): a thread whose stats differ from the
last ones seen has activity the mirror has not read, and is due at once
(``repositories.freshness.observe``). Likes, edits and deletions show in no reference: only
re-reading the thread finds them, hence the policy's schedule.
"""

from __future__ import annotations

from datetime import datetime

from api.db.repositories.freshness import ThreadSeen
from api.sync.payloads import FeedPage, ThreadRef, ThreadStats


def thread_observations(page: FeedPage) -> list[ThreadSeen]:
    """Each thread a page shows messages of: its newest message, and its reference's stats."""
    newest: dict[int, datetime] = {}
    for message in page.all_messages():
        if message.direct_message:
            continue  # private conversations are not mirrored
        at = newest.get(message.thread_id)
        newest[message.thread_id] = (
            message.created_at if at is None else max(at, message.created_at)
        )
    refs = page.threads()
    seen = []
    for thread_id, activity in newest.items():
        ref = refs.get(thread_id)
        stats = ref.stats if ref is not None else ThreadStats()
        if stats.latest_reply_at is not None:
            activity = max(activity, stats.latest_reply_at)
        seen.append(ThreadSeen(thread_id, activity, stats.updates, stats.latest_reply_id))
    return seen


def counted_as_read(page: FeedPage, thread_id: int, messages: int) -> FeedPage:
    """The last page of a walk, its thread's count set to the ``messages`` the walk read.

    The microblog's counts drift from what can be read (reference §10.23): a starter written
    with the reference's count would report replies the mirror cannot have. A walk that read
    the whole thread knows the count exactly, so its starter says what is mirrored.
    """
    ref = page.threads().get(thread_id) or ThreadRef(id=thread_id)
    counted = ref.model_copy(update={"stats": ref.stats.model_copy(update={"updates": messages})})
    others = [r for r in page.references if not (isinstance(r, ThreadRef) and r.id == thread_id)]
    return page.model_copy(update={"references": [*others, counted]})
