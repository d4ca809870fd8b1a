"""``MicroblogClient``: the Yammer REST v1 calls the mirror needs, budgeted, retried, validated.

Every call goes through one GET: take a slot from the shared ``RateBudget``, send, classify
the outcome (see ``api.sync.errors`` for what each error means to the worker), retry 429s,
5xx, timeouts and connection errors a bounded number of times, and validate the JSON into
``api.sync.payloads`` models. The token is sent only in the Authorization header and is
never logged, put in an error, or shown by ``repr``.

    async with MicroblogClient(url, token, budget=budget) as client:
        async for page in client.iter_feed("in_group", group_id, newer_than=cursor):
            ...  # one unit of work per page
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Literal, get_args

import httpx

from api.sync.budget import RateBudget
from api.sync.errors import PayloadError
from api.sync.http import Params, Requester
from api.sync.paging import FEED_PAGE_SIZE, LIST_PAGE_SIZE, FeedWalk, numbered_pages
from api.sync.payloads import (
    FeedKind,
    FeedPage,
    Group,
    Message,
    SearchResults,
    ThreadRef,
    TopicRef,
    User,
    UserList,
    parse,
)
from api.sync.retry import ClientStats, RetryPolicy

Threaded = bool | Literal["extended"] | None

_FEED_KINDS = frozenset(get_args(FeedKind))
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")  # numeric ids, or e.g. the "company" feed
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_LIKER_PAGES = 1_000
EXPORT_TIMEOUT = 300.0  # one synchronous GET returns the whole ZIP


class MicroblogClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RateBudget | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        rate_limit_base: float = 10.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
        list_page_size: int = LIST_PAGE_SIZE,
    ) -> None:
        if not token or token != token.strip() or any(c in token for c in "\r\n"):
            raise ValueError("the microblog token must be a non-empty single-line string")
        # Accept the host ("https://www.yammer.com") or the API root ("…/api/v1").
        self.base_url = re.sub(r"/api/v1/?$", "", base_url.rstrip("/"))
        http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            # httpx drops Authorization on cross-origin redirects (e.g. to export.yammer.com).
            follow_redirects=True,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        self._requester = Requester(
            http,
            # One budget per token: share it between clients, or each gets its own 10 / 30 s.
            budget=budget if budget is not None else RateBudget(),
            policy=RetryPolicy(max_retries, backoff_base, rate_limit_base),
            sleep=sleep,
            rng=rng if rng is not None else random.Random(),
        )
        self._timeout = timeout
        self._list_page_size = list_page_size
        self._get_json = self._requester.get_json
        self._get_data = self._requester.get_data

    def __repr__(self) -> str:
        return f"MicroblogClient({self.base_url!r})"

    async def __aenter__(self) -> MicroblogClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._requester.http.aclose()

    @property
    def budget(self) -> RateBudget:
        return self._requester.budget

    @property
    def policy(self) -> RetryPolicy:
        return self._requester.policy

    @property
    def stats(self) -> ClientStats:
        """Requests, retries and outcomes so far (see ``take_stats``)."""
        return self._requester.stats

    def take_stats(self) -> ClientStats:
        """The counters since the last call (e.g. one ``sync_run``), and start afresh."""
        stats, self._requester.stats = self._requester.stats, ClientStats()
        return stats

    # -- directory ------------------------------------------------------------------------

    async def groups(self, page: int = 1, mine: bool = False) -> list[Group]:
        params: Params = [("page", page)]
        if mine:
            params.append(("mine", "true"))
        return await self._get_json(list[Group], "/api/v1/groups.json", params)

    def iter_groups(self, mine: bool = False) -> AsyncIterator[list[Group]]:
        """Every group, a page (of 50) at a time. Union with ``mine=True`` for private ones."""
        return numbered_pages(lambda n: self.groups(n, mine), page_size=self._list_page_size)

    async def group(self, group_id: int) -> Group:
        return await self._get_json(Group, f"/api/v1/groups/{_segment(group_id)}.json")

    async def users(self, page: int = 1) -> list[User]:
        return await self._get_json(list[User], "/api/v1/users.json", [("page", str(page))])

    def iter_users(self) -> AsyncIterator[list[User]]:
        """Every (active) user, a page (of 50) at a time."""
        return numbered_pages(self.users, page_size=self._list_page_size)

    async def user(self, user_id: int) -> User:
        return await self._get_json(User, f"/api/v1/users/{_segment(user_id)}.json")

    async def current_user(self) -> User:
        return await self._get_json(User, "/api/v1/users/current.json")

    async def liked_by(self, message_id: int) -> list[User]:
        """Everyone who liked a message (``liked_by.names`` on the message is only a sample)."""
        path = f"/api/v1/users/liked_message/{_segment(message_id)}.json"
        users: dict[int, User] = {}
        for number in range(1, MAX_LIKER_PAGES + 1):
            listing = await self._get_json(UserList, path, [("page", str(number))])
            fresh = {user.id: user for user in listing.users if user.id not in users}
            users.update(fresh)
            # No new users means the server ignores `page`: stop rather than loop.
            if not listing.more_available or not fresh:
                break
        return list(users.values())

    # -- messages -------------------------------------------------------------------------

    async def feed(
        self,
        kind: FeedKind,
        feed_id: int | str,
        *,
        older_than: int | None = None,
        newer_than: int | None = None,
        threaded: Threaded = None,
        limit: int = FEED_PAGE_SIZE,
    ) -> FeedPage:
        """One page of ``messages/<kind>/<id>.json`` (newest first, at most 20 messages)."""
        if kind not in _FEED_KINDS:
            raise ValueError(f"unknown feed kind {kind!r}")
        if not 1 <= limit <= FEED_PAGE_SIZE:
            raise ValueError(f"limit must be 1..{FEED_PAGE_SIZE}; the microblog caps pages at 20")
        params: Params = [("limit", str(limit))]
        if older_than is not None:
            params.append(("older_than", str(older_than)))
        if newer_than is not None:
            params.append(("newer_than", str(newer_than)))
        if threaded:
            params.append(("threaded", "extended" if threaded == "extended" else "true"))
        path = f"/api/v1/messages/{kind}/{_segment(feed_id)}.json"
        return await self._get_json(FeedPage, path, params)

    def iter_feed(
        self,
        kind: FeedKind,
        feed_id: int | str,
        *,
        newer_than: int | None = None,
        older_than: int | None = None,
        horizon: datetime | None = None,
        threaded: Threaded = None,
        limit: int = FEED_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> FeedWalk:
        """Page a feed backwards from ``older_than`` (or the newest), one page per request.

        Backfill: ``horizon=`` stops once a page reaches messages older than it. Polling:
        ``newer_than=max id seen`` keeps the lower bound on every page, so more than a page of
        new messages is walked down to it. See ``FeedWalk`` for the stop rules.
        """

        def fetch(cursor: int | None) -> Awaitable[FeedPage]:
            return self.feed(
                kind, feed_id, older_than=cursor, newer_than=newer_than, threaded=threaded,
                limit=limit,
            )  # fmt: skip

        return FeedWalk(
            fetch,
            older_than=older_than,
            newer_than=newer_than,
            horizon=horizon,
            threaded=bool(threaded),
            limit=limit,
            max_pages=max_pages,
        )

    async def message(self, message_id: int) -> Message:
        """One message; 404 (``NotFound``) when it was deleted."""
        path = f"/api/v1/messages/{_segment(message_id)}.json"
        data = await self._get_data(path)
        # Documented as the bare object; tolerate the feed envelope some servers wrap it in.
        if isinstance(data, dict) and isinstance(data.get("messages"), list):
            page = parse(FeedPage, data, path=path)
            found = [m for m in page.messages if m.id == message_id]
            if not found:
                raise PayloadError(f"message {message_id} not in the response", path=path)
            return found[0]
        return parse(Message, data, path=path)

    async def thread(self, thread_id: int) -> ThreadRef:
        return await self._get_json(ThreadRef, f"/api/v1/threads/{_segment(thread_id)}.json")

    async def topic(self, topic_id: int) -> TopicRef:
        return await self._get_json(TopicRef, f"/api/v1/topics/{_segment(topic_id)}.json")

    async def search_topics(self, hashtag: str) -> list[TopicRef]:
        """Topics whose name matches ``hashtag`` (first page of ``search.json``).

        There is no "list all topics" endpoint; search is the documented way to find one by
        name (reference §3.3). The caller picks the exact match: search also finds partial ones.
        """
        params: Params = [("search", f"#{hashtag}")]
        page = await self._get_json(SearchResults, "/api/v1/search.json", params)
        return page.topics

    async def export(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        models: Sequence[str] = (),
        include_csv: bool = True,
    ) -> bytes:
        """The network data export ZIP (verified admins only; 403 otherwise)."""
        params: Params = [("since", _iso(since))]
        if until is not None:
            params.append(("until", _iso(until)))
        params += [("model", model) for model in models]
        if include_csv:
            params.append(("include", "csv"))
        path = "/api/v1/export"
        timeout = max(self._timeout, EXPORT_TIMEOUT)
        response = await self._requester.get(path, params, request_timeout=timeout)
        if not response.content.startswith(_ZIP_MAGIC):
            raise PayloadError("export is not a ZIP archive", path=path, status=200)
        return response.content


def _segment(value: int | str) -> str:
    # Ids go into the path; refuse anything that could change which path is requested.
    text = str(value)
    if isinstance(value, bool) or not _SEGMENT.fullmatch(text):
        raise ValueError(f"not a valid id for a URL path: {value!r}")
    return text


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("export bounds must be timezone-aware")
    return moment.isoformat()
