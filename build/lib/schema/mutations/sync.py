"""``requestSync``: ask the active worker for a run now (admins only)."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.repositories import sync_state
from api.domain.enums import SyncFeedKind
from schema.context import Info
from schema.mutations.base import UserError, UserErrors, run
from schema.permissions import ADMINS


@strawberry.input
class RequestSyncInput:
    feeds: list[SyncFeedKind] | None = strawberry.field(
        default=None, description="Feed kinds to sync; all when omitted."
    )


@strawberry.type
class RequestSyncPayload:
    accepted: bool = strawberry.field(
        description="False when a requested run is already waiting: it will cover this one."
    )
    user_errors: list[UserError]


@strawberry.type
class SyncMutations:
    @strawberry.mutation(permission_classes=[ADMINS])
    async def request_sync(self, info: Info, input: RequestSyncInput) -> RequestSyncPayload:
        principal = info.context.principal
        assert principal is not None

        async def work(session: AsyncSession, errors: UserErrors) -> Any:
            kinds = [k.value for k in dict.fromkeys(input.feeds or [])]
            return await sync_state.queue_run(session, kinds, principal.subject)

        accepted, errors = await run(info, work)
        return RequestSyncPayload(accepted=bool(accepted), user_errors=errors)
