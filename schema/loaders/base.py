"""Building blocks for loaders: each batch reads through the request's ``Reads`` (one
connection and one read snapshot per request; a short session per batch for subscriptions)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.db.request_session import Reads

K = TypeVar("K", bound=Hashable)
A = TypeVar("A", bound=Hashable)

Fetch = Callable[[AsyncSession, list[Any]], Awaitable[dict[Any, Any]]]
GroupedFetch = Callable[[AsyncSession, list[Any], Any], Awaitable[dict[Any, Any]]]


def by_key(
    db: Reads, fetch: Fetch, default: Callable[[], Any] = lambda: None
) -> DataLoader[Any, Any]:
    """A loader answering every key of a batch with one call of ``fetch``."""

    async def load(keys: Sequence[Any]) -> list[Any]:
        async with db.reading() as session:
            found = await fetch(session, list(keys))
        return [found[key] if key in found else default() for key in keys]

    return DataLoader(load_fn=load)


def by_key_and_args(
    db: Reads, fetch: GroupedFetch, default: Callable[[], Any] = lambda: None
) -> DataLoader[Any, Any]:
    """A loader for keys ``(parent, args)``: one ``fetch`` per distinct ``args`` in a batch.

    Fields with arguments (a page, a date range) batch across parents that share them, so a
    list of 50 topics asking for the same page costs one statement, not 50.
    """

    async def load(keys: Sequence[tuple[Any, Any]]) -> list[Any]:
        parents: dict[Any, list[Any]] = defaultdict(list)
        for parent, args in keys:
            parents[args].append(parent)
        results: dict[tuple[Any, Any], Any] = {}
        async with db.reading() as session:
            for args, batch in parents.items():
                unique = list(dict.fromkeys(batch))
                found = await fetch(session, unique, args)
                for parent in unique:
                    results[(parent, args)] = found[parent] if parent in found else default()
        return [results[key] for key in keys]

    return DataLoader(load_fn=load)
