"""Cost before execution, and each principal's budget: refused before any resolver runs.

After validation, ``on_execute`` computes the operation's cost (``schema/cost.py``):

* over the per-operation maximum (``CAMPAIGN_QUERY_COST_MAX``, or the principal's whole
  bucket when that is smaller) the answer is ``QUERY_TOO_COMPLEX`` with ``cost`` and
  ``maximumCost``, and no SQL runs at all;
* otherwise one statement draws the cost from the principal's budget
  (``api/db/repositories/query_budgets.py``); a spent budget answers ``RATE_LIMITED`` with
  ``retryAfter`` (whole seconds) and runs nothing else.

Setting ``execution_context.result`` before ``yield`` is how a Strawberry extension answers in
place of execution: ``Schema._execute_operation`` then skips graphql-core's ``execute``.

**Budgets are leaky buckets (Shopify's model), not GitHub's points per hour.** A bucket
allows the bursts real screens make (a dashboard fires several queries at once) while its
steady refill caps the sustained rate; a refused client waits seconds, computed exactly
(``retryAfter``), not until the top of the hour; and there is no window edge at which a
client can spend two hours' points back to back. Buckets live in PostgreSQL, keyed by
``ROLE:subject`` (a person's role and token subject; an LMS key's ``api-key:…`` subject), so
every API process draws from the same one and a restart refills nothing. Sizes and restore
rates per role come from settings (``CAMPAIGN_QUERY_BUDGET_<ROLE>`` and ``…_RESTORE``).
Unlike Shopify, no refund follows execution: the requested cost is what is drawn.

Every answer that reaches this step carries ``extensions.cost``, shaped like Shopify's::

    {"requestedQueryCost": 22, "maximumQueryCost": 2000,
     "throttleStatus": {"maximumAvailable": 10000, "currentlyAvailable": 9978,
                        "restoreRate": 100}}

(``throttleStatus`` is null for a request without a principal: authentication refuses those,
and they draw on no bucket.) Answers refused earlier (parse or validation errors) carry none.

HTTP status: refusals stay ``200`` with ``errors`` and ``data: null``, as GitHub answers a
spent rate limit and as GraphQL over HTTP prescribes for ``application/json`` responses; the
codes and ``retryAfter`` are in the error's ``extensions``.
"""

from __future__ import annotations

import json
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from api.db.repositories import query_budgets
from api.domain.enums import Role
from api.domain.principal import API_KEY_SUBJECT, Principal
from api.settings import Settings, get_settings
from schema.cost import CostError, operation_cost
from schema.operations import is_subscription
from schema.variables import coerced_variables

log = logging.getLogger(__name__)

# A document's cost depends only on it and its variables, and clients send the same few
# documents with the same few variable sets (the next page, the same dashboard range): each is
# counted once. The key holds the document (the parse cache hands out one DocumentNode per
# text), so its id cannot be reused by another document while the entry is kept.
_COSTS: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
_COSTS_MAX = 1024
# Longer variables (a long search text, a hundred ids) are counted every time rather than held.
_COSTS_MAX_VARIABLES = 4096


def _cost(
    schema: Any, document: Any, operation_name: str | None, variables: Any, coerced: Any = None
) -> int:
    try:
        shown = json.dumps(variables, sort_keys=True, default=str)
    except (TypeError, ValueError):  # variables JSON cannot hold: counted every time
        shown = None
    if shown is None or len(shown) > _COSTS_MAX_VARIABLES:
        return operation_cost(schema, document, operation_name, variables, coerced)
    key = (id(schema), id(document), operation_name, shown)
    found = _COSTS.get(key)
    if found is not None and found[0] is document:
        _COSTS.move_to_end(key)
        return found[1]
    cost = operation_cost(schema, document, operation_name, variables, coerced)
    _COSTS[key] = (document, cost)
    if len(_COSTS) > _COSTS_MAX:
        _COSTS.popitem(last=False)
    return cost


@dataclass(frozen=True, slots=True)
class Budget:
    capacity: int
    restore_per_second: float


def budget_for(settings: Settings, role: Role) -> Budget:
    name = role.value.lower()
    return Budget(
        capacity=getattr(settings, f"query_budget_{name}"),
        restore_per_second=getattr(settings, f"query_budget_{name}_restore"),
    )


def principal_key(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.subject}"


def _settings(context: Any) -> Settings:
    # The app keeps the settings it was built with; a context without a request (a script
    # calling schema.execute) falls back to the process's.
    request = getattr(context, "request", None)
    app = getattr(request, "app", None) if request is not None else None
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


class QueryCostAndBudget(SchemaExtension):
    """Refuse an operation that costs too much, or whose principal's budget is spent."""

    report: dict[str, Any] | None = None

    async def on_validate(self) -> AsyncIterator[None]:
        # A subscription is priced (one event's selection) and drawn once, when it starts:
        # Strawberry subscribes whatever ``on_execute`` sets, so its refusal is a pre-execution
        # error (an `error` message on the socket), set after the order of defence's steps.
        ec = self.execution_context
        if not ec.pre_execution_errors and is_subscription(ec):
            refusal = await self._admit()
            if refusal is not None:
                ec.pre_execution_errors = [refusal]
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        if not is_subscription(self.execution_context):
            try:
                refusal = await self._admit()
            except Exception as exc:  # a defect or an outage; escaping from here it goes unmasked
                refusal = GraphQLError(str(exc), original_error=exc)
            if refusal is not None:
                # graphql-core's result type: Strawberry returns it instead of executing.
                self.execution_context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report is not None else {}

    async def _admit(self) -> GraphQLError | None:
        ec = self.execution_context
        if ec.graphql_document is None:
            return None
        context = ec.context
        # Drawn already by the HTTP fast path (api/fast_path.py) before it handed the request
        # to this one: the same document and variables, so the same answer, drawn once.
        admission: Admission | None = getattr(context, "admission", None)
        if admission is None:
            admission = Admission()
            operation = get_operation_ast(ec.graphql_document, ec.operation_name)
            try:
                await admit(
                    admission,
                    ec.schema._schema,
                    ec.graphql_document,
                    ec.operation_name,
                    ec.variables,
                    _settings(context),
                    getattr(context, "principal", None),
                    getattr(context, "reads", None),
                    # The variables as the order of defence coerced them (schema/variables.py).
                    coerced_variables(ec, operation) if operation is not None else None,
                )
            finally:  # a failed draw still reports the cost counted
                self.report = admission.report
        self.report = admission.report
        return admission.refusal


@dataclass(slots=True)
class Admission:
    """What the cost and budget step decided: ``extensions.cost`` (None when the cost could
    not be counted), and the refusal, if any."""

    report: dict[str, Any] | None = None
    refusal: GraphQLError | None = None


@dataclass(frozen=True, slots=True)
class _Priced:
    cost: int
    budget: Budget | None


def _price(
    admission: Admission,
    schema: Any,
    document: Any,
    operation_name: str | None,
    variables: Any,
    settings: Settings,
    role: Role | None,
    coerced: Any,
) -> _Priced | None:
    """The operation's cost for a principal of ``role``, its report set in ``admission``;
    None when nothing is to be drawn (the cost could not be counted, or it is refused as too
    complex: ``admission.refusal``)."""
    try:
        cost = _cost(schema, document, operation_name, variables, coerced)
    except CostError:
        return None  # execution answers the missing operation or bad variables
    budget = budget_for(settings, role) if role is not None else None
    limit = min(settings.query_cost_max, budget.capacity if budget else settings.query_cost_max)
    admission.report = {
        "requestedQueryCost": cost,
        "maximumQueryCost": limit,
        "throttleStatus": None,
    }
    if cost > limit:
        log.info("refused a query costing %d (limit %d)", cost, limit)
        admission.refusal = GraphQLError(
            f"This query may cost {cost} points, more than the {limit} one query may cost. "
            "Ask for smaller pages (first:) or fewer nested lists.",
            extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maximumCost": limit},
        )
        return None
    return _Priced(cost, budget)


async def admit(
    admission: Admission,
    schema: Any,
    document: Any,
    operation_name: str | None,
    variables: Any,
    settings: Settings,
    principal: Principal | None,
    reads: Any,
    coerced: Any = None,
) -> None:
    """Count the operation's cost and draw it from the principal's budget (module docstring),
    into ``admission``: its report is set before the draw, which may raise."""
    role = principal.role if principal is not None else None
    priced = _price(admission, schema, document, operation_name, variables, settings, role, coerced)
    if priced is None or principal is None or priced.budget is None:
        return
    budget = priced.budget
    # One statement committed on its own, on the request's connection when there is no
    # replica (api/db/request_session.py): atomic as before, without BEGIN/COMMIT, and
    # reading the data version for the response cache in the same round trip.
    drawn = await query_budgets.draw_on(
        reads, principal_key(principal), priced.cost, budget.capacity, budget.restore_per_second
    )
    _drawn(admission, role, priced.cost, budget, drawn)


async def admit_key(
    admission: Admission,
    schema: Any,
    document: Any,
    operation_name: str | None,
    variables: Any,
    settings: Settings,
    role: Role,
    key_hash: str,
    reads: Any,
    coerced: Any = None,
) -> query_budgets.KeyDraw | None:
    """``admit`` for an API key not checked yet, whose role (``role``, the one keys have) and
    document are known, so the cost is too: the key's check and the draw are one statement
    (``query_budgets.draw_for_key_on``). A revoked or unknown key (``KeyDraw.key`` None) draws
    nothing and ``admission`` stays as it was; so does a key of another role (``drawn`` None:
    the caller admits it at its own role's price).

    None when the cost is not to be drawn (it could not be counted, or is too complex): the
    caller checks the key alone, as before, since a refused key must be answered before
    anything about the document (``admission`` is then left unset too).
    """
    priced_into = Admission()
    priced = _price(
        priced_into, schema, document, operation_name, variables, settings, role, coerced
    )
    if priced is None or priced.budget is None:
        return None
    budget = priced.budget
    prefix = principal_key(Principal(role=role, subject=API_KEY_SUBJECT))
    checked = await query_budgets.draw_for_key_on(
        reads,
        key_hash,
        role,
        prefix,
        priced.cost,
        budget.capacity,
        budget.restore_per_second,
    )
    if checked.drawn is not None:
        admission.report = priced_into.report
        _drawn(admission, role, priced.cost, budget, checked.drawn)
    return checked


def _drawn(
    admission: Admission, role: Role | None, cost: int, budget: Budget, drawn: query_budgets.Draw
) -> None:
    """The draw's outcome into ``admission``: the bucket's level, and RATE_LIMITED when spent."""
    report = admission.report
    assert report is not None
    report["throttleStatus"] = {
        "maximumAvailable": budget.capacity,
        "currentlyAvailable": math.floor(drawn.available),
        "restoreRate": budget.restore_per_second,
    }
    if drawn.granted:
        return
    retry_after = max(1, math.ceil((cost - drawn.available) / budget.restore_per_second))
    shown = role.value if role is not None else None
    log.info("rate limited %s: cost %d, %d available", shown, cost, drawn.available)
    admission.refusal = GraphQLError(
        f"The query budget is spent: this query costs {cost} points and "
        f"{math.floor(drawn.available)} are available. Retry in {retry_after} s.",
        extensions={
            "code": "RATE_LIMITED",
            "cost": cost,
            "currentlyAvailable": math.floor(drawn.available),
            "retryAfter": retry_after,
        },
    )
