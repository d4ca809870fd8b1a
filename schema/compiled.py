"""Answer a query from its compiled plan (api/db/compiled) in place of the resolvers.

The extension runs last, in ``on_execute``: the order of defence (authentication, limits,
validation, variables) and the cost and budget step have passed, so refusals and
``extensions`` (``extensions.cost``) are what the resolver path gives.  When it sets the
result Strawberry skips graphql-core's execution (as QueryCostAndBudget does for a refusal).
Any query without a plan, any request whose values the plan does not take, and any failure
of the plan's statement run on the resolvers, which answer every query.

Over HTTP (``Context.raw_data``) the answer's ``data`` is the statement's JSON text as
PostgreSQL wrote it (``RawJSON``), put into the body without being decoded and encoded again
(``api.response_cache.splice``), as the HTTP fast path (api/fast_path.py) sends it too: both
paths answer a compiled plan with the same bytes. Those bytes are not the resolvers' (spaces
after ``:`` and ``,``, characters beyond ASCII as UTF-8 rather than ``\\u`` escapes); the JSON is
the same. Elsewhere (a WebSocket, a script) ``data`` is decoded as before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import OperationType
from graphql.utilities import get_operation_ast
from sqlalchemy.exc import SQLAlchemyError
from strawberry.extensions import SchemaExtension

from api.db.compiled.compiler import Bindings, Fallback
from api.db.compiled.plans import Plans, run
from api.domain.raw_json import RawJSON
from schema.budgets import _settings
from schema.types.node import decode_id
from schema.variables import coerced_variables

log = logging.getLogger(__name__)

PLANS = Plans()


class CompiledPlans(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.result is None:
            try:
                data = await self._answer()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("compiled plan failed, the resolvers answer: %s", exc)
                data = None
            except Exception:  # a defect in the compiler must not cost the client its answer
                log.exception("compiled plan failed, the resolvers answer")
                data = None
            if data is not None:
                ec.result = GraphQLExecutionResult(data=data, errors=None)  # type: ignore[arg-type]
                with suppress(AttributeError):  # a script's context may be any object
                    ec.context.planned = True
        yield

    async def _answer(self) -> dict[str, Any] | RawJSON | None:
        ec = self.execution_context
        context = ec.context
        principal = getattr(context, "principal", None)
        # A script's context may be any object: plans need the API's (a database, a base URL).
        db, base_url = getattr(context, "db", None), getattr(context, "base_url", None)
        document, text = ec.graphql_document, ec.query
        if principal is None or document is None or text is None or db is None or not base_url:
            return None
        if not _settings(context).compiled:
            return None
        operation = get_operation_ast(document, ec.operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        coerced = coerced_variables(ec, operation)  # as the order of defence coerced them
        if isinstance(coerced, list):
            return None
        variables = coerced.coerced
        plan = PLANS.plan(text, document, operation, principal.role, variables)
        if plan is None:
            return None
        bindings = Bindings(variables=variables, base_url=base_url, decode_id=decode_id)
        try:
            params = plan.bind(bindings)
        except Fallback:
            return None
        # The request's connection when it has one (api/db/request_session.py): the budget was
        # drawn on it, and a second checkout would hold two connections at once. The plan is
        # the request's one read statement: in autocommit, without BEGIN and ROLLBACK.
        reads = getattr(context, "reads", None) or db
        async with reads.single_read() as session:
            answer = await run(session, plan, params)
        if getattr(context, "raw_data", False):
            # The HTTP view sends the statement's JSON text as it is (module docstring).
            return RawJSON(answer)
        data: dict[str, Any] = json.loads(answer)
        return data
