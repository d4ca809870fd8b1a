"""Answers kept per process for repeated reads, keyed by the data version.

A query answered without errors keeps its ``data``, encoded once, under a key made of what
its ETag is made of (``api/http_cache.py``: the data version, schema, date, role and subject,
document, variables, operation name and media type) and, for every role, the principal's
subject: answers never pass from one principal to another, even where the role alone decides
them today (two admins, two LMS keys). The same query asked again at the same data version is
answered from the cache without running a resolver.

**Where it sits in the order of defence** (``schema/extensions.py``): a kept answer is served by
``schema/kept_answers.py`` in place of execution, so authentication (a revoked key is refused
at once), the shape limits, validation, variables, the cost and the budget draw all happen
first: a kept answer costs its principal what an executed one costs. Only ``data`` is kept;
``extensions.cost`` (the budget left) is this request's own, spliced beside it when the body is
encoded (``splice``). Mutations, subscriptions, answers with errors and documents selecting
values that move without the version (``http_cache.cacheable``: ``syncStatus``, ``clickCount``)
are never kept.

**Freshness.** Every worker commit and mutation bumps the version in its own transaction;
each request reads the version before executing (a primary-key lookup, in the request's first
bookkeeping statement when there is no replica: api/db/request_session.py), so an answer kept
under version V holds data at least as new as V, and once a commit is visible the version has
moved on and the next request misses. A reader therefore never gets an answer older than a
commit it has seen, whichever process made the commit. (The version is read where the data is,
on the read side: a lagging replica answers as it would without the cache, never older.)

**Why the version is read per request, not learnt by NOTIFY.** The process's LISTEN connection
(``api/db/listener.py``) could track the version without a statement, but a notification is
delivered after the commit, asynchronously: a client's mutation through process A can be
answered, and its next read reach process B, before B's listener has read the notification.
B would then answer from the version before the client's own write. Nothing short of asking
the database closes that window, so the one statement stays (it is what a 304 costs already).

**Bound.** At most ``CAMPAIGN_RESPONSE_CACHE_BYTES`` bytes of answers (their JSON text plus
an allowance per entry), least recently used first out; 0 turns the cache off (and with it the
version read over POST). An answer over an eighth of the bound is not kept, so one huge page
cannot flush everything else. Answers of an older version than the newest seen can only serve
a reader behind that version (a lagging replica): the first request to see a newer version
drops them all, so the bound holds live answers, not dead ones.

An ``OrderedDict`` rather than ``cachetools.LRUCache(getsizeof=)``: the same two operations in
a few lines without a dependency, and the version sweep above is ours either way; the project's
other LRUs (``schema/extensions.py``) are built the same way. One event loop per process
touches it, so no lock is needed.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from api import metrics
from api.domain.principal import Principal
from api.domain.raw_json import RawJSON
from api.http_cache import version_of

log = logging.getLogger(__name__)

# What one entry costs beyond its text: the key, the dict slot, the str and wrapper objects.
ENTRY_OVERHEAD = 300
# The largest share of the bound one answer may take.
LARGEST_SHARE = 8


def encode(value: object) -> str:
    # Strawberry's own encoding of answers (strawberry.http.base), so a kept answer's bytes are
    # the bytes the same answer executed would have.
    return json.dumps(value, separators=(",", ":"))


def splice(response: object, encode_rest: Callable[[object], str | bytes]) -> str | bytes:
    """The body of ``response``, its ``data`` taken as kept text when it is ``RawJSON``."""
    if not isinstance(response, dict) or not isinstance(response.get("data"), RawJSON):
        return encode_rest(response)
    raw: RawJSON = response["data"]
    rest = encode_rest({k: v for k, v in response.items() if k != "data"})
    rest = rest.decode() if isinstance(rest, bytes) else rest
    # `data` first, as Strawberry orders an answer's members.
    return '{"data":' + raw.text + ("}" if rest == "{}" else "," + rest[1:])


class ResponseCache:
    """A byte-bounded LRU of encoded answers (module docstring)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        # The newest data version seen: entries are of this version.
        self.version = 0
        self._entries: OrderedDict[str, RawJSON] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _size(key: str, raw: RawJSON) -> int:
        return len(key) + len(raw.text) + ENTRY_OVERHEAD

    def _see(self, version: int) -> None:
        if version > self.version:
            self.clear()
            self.version = version

    def get(self, key: str, version: int) -> RawJSON | None:
        self._see(version)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def clear(self) -> None:
        metrics.RESPONSE_CACHE_BYTES.dec(self.bytes)
        self._entries.clear()
        self.bytes = 0

    def put(self, key: str, version: int, raw: RawJSON) -> None:
        size = self._size(key, raw)
        self._see(version)
        if version < self.version or size > self.max_bytes // LARGEST_SHARE:
            return
        old = self._entries.pop(key, None)
        freed = self._size(key, old) if old is not None else 0
        self._entries[key] = raw
        added = size - freed
        while self.bytes + added > self.max_bytes and len(self._entries) > 1:
            gone_key, gone = self._entries.popitem(last=False)
            added -= self._size(gone_key, gone)
        self.bytes += added
        metrics.RESPONSE_CACHE_BYTES.inc(added)

    def slot(self, principal: Principal, tag: Callable[[], Awaitable[str | None]]) -> Slot:
        """One request's place in the cache; ``tag`` gives its answer's ETag (None: not kept)."""
        return Slot(self, principal, tag)


class Slot:
    """What ``schema/kept_answers.py`` asks of the cache for one request: the answer kept for
    it, and where to keep its own. The key (and with it the version) is read only for a query
    that reached execution: refused requests and mutations cost no statement here."""

    def __init__(
        self,
        cache: ResponseCache,
        principal: Principal,
        tag: Callable[[], Awaitable[str | None]],
    ) -> None:
        self.cache = cache
        self.principal = principal
        self.tag = tag
        self.key: str | None = None
        self.version = 0

    async def kept(self) -> RawJSON | None:
        try:
            tag = await self.tag()
        except (SQLAlchemyError, OSError) as exc:
            # Not kept then; executing reports the database's trouble in the answer.
            log.warning("no cached answer, the data version is unreadable: %s", exc)
            return None
        if tag is None:
            return None
        # The tag names the role only, for roles whose answers do not depend on who asks; the
        # cache names the principal always (module docstring).
        self.key = f"{tag} {self.principal.role.value}:{self.principal.subject}"
        self.version = version_of(tag)
        found = self.cache.get(self.key, self.version)
        metrics.RESPONSE_CACHE.labels("hit" if found is not None else "miss").inc()
        return found

    def keep(self, data: Any, errors: Any) -> Any:
        """Keep an answer without errors; what to answer with (its encoded text, when kept)."""
        if self.key is None or errors or not isinstance(data, dict | RawJSON):
            return data
        raw = data if isinstance(data, RawJSON) else RawJSON(encode(data))
        self.cache.put(self.key, self.version, raw)
        return raw
