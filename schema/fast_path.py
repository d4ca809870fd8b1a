"""The GraphQL half of the HTTP fast path (api/fast_path.py): documents a compiled plan has
answered, and the per-request steps of the order of defence that depend on the variables.

A document (text, operation name, role) is *known* once the full pipeline has validated it
and answered it from a compiled plan (schema/compiled.py sets ``Context.planned``). What the
order of defence decides from the text and the role alone (the token limit, parsing, shape
limits, validation, introspection for admins only, the operation's kind) cannot change for the
same text and role, so a known document skips those steps; what depends on the request (the
credentials, the variables and their input limits, the cost and the budget) is done again for
every request, by the same functions the full path calls.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, OperationType, parse
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from api.db.compiled.compiler import Bindings, Fallback
from api.db.compiled.plans import Plan
from api.domain.enums import Role
from schema.boundary import document_problems
from schema.compiled import PLANS
from schema.types.node import decode_id

# As many as the plans (api/db/compiled/plans.py): clients send the same few documents.
MAX_KNOWN = 256
MAX_TEXT = 32_000
# Variable sets remembered per known document (``bind``), and the longest remembered (as JSON).
MAX_BOUND = 64
MAX_VARIABLES_TEXT = 4096

Bound = tuple[Plan, list[Any]]


@dataclass(frozen=True, slots=True)
class Known:
    text: str
    operation_name: str | None
    role: Role
    document: DocumentNode
    operation: OperationDefinitionNode
    # The plan and parameters (or None: the full path answers) by variable set (``bind``).
    bound: OrderedDict[str, Bound | None] = field(
        default_factory=OrderedDict, compare=False, repr=False
    )

    @property
    def name(self) -> str | None:
        """The operation's name in the document (logs)."""
        return self.operation.name.value if self.operation.name else None


class KnownDocuments:
    """An LRU of known documents by text, operation name and role (module docstring)."""

    def __init__(self, maxsize: int = MAX_KNOWN) -> None:
        self.maxsize = maxsize
        self._known: OrderedDict[tuple[str, str | None, Role], Known] = OrderedDict()

    def __len__(self) -> int:
        return len(self._known)

    def get(self, text: str, operation_name: str | None, role: Role) -> Known | None:
        key = (text, operation_name, role)
        found = self._known.get(key)
        if found is not None:
            self._known.move_to_end(key)
        return found

    def remember(self, text: str, operation_name: str | None, role: Role) -> None:
        """Called after the full pipeline answered this document from a compiled plan."""
        key = (text, operation_name, role)
        if len(text) > MAX_TEXT or key in self._known:
            return
        document = parse(text)
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return
        self._known[key] = Known(text, operation_name, role, document, operation)
        if len(self._known) > self.maxsize:
            self._known.popitem(last=False)

    def clear(self) -> None:
        self._known.clear()


def coerce(
    schema: GraphQLSchema, known: Known, variables: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The variables coerced, when they coerce and pass the input limits (step 6 of the order
    of defence, as ``schema.extensions.Defence`` does it); None: the full path answers."""
    coerced = get_variable_values(
        schema, known.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):
        return None
    if document_problems(schema, known.document, known.operation, coerced):
        return None
    values: dict[str, Any] = coerced.coerced
    return values


def bound_plan(known: Known, variables: dict[str, Any], base_url: str) -> Bound | None:
    """The compiled plan for these variables and its parameters (as ``CompiledPlans``);
    None where the plan falls back to the resolvers."""
    plan = PLANS.plan(known.text, known.document, known.operation, known.role, variables)
    if plan is None:
        return None
    try:
        params = plan.bind(Bindings(variables=variables, base_url=base_url, decode_id=decode_id))
    except Fallback:
        return None
    return plan, params


def bind(
    schema: GraphQLSchema, known: Known, variables: dict[str, Any] | None, base_url: str
) -> Bound | None:
    """``coerce`` then ``bound_plan``: the plan and its parameters for the request's variables,
    or None (the full path answers). Both are functions of the document, the role, the
    variables and the base URL alone (the plan's parameters are read from the variables; no
    clock, no database), and clients send the same few variable sets again and again (the LMS
    asks for a course's topic, a screen for its first page): each known document remembers
    the outcome for its last ``MAX_BOUND`` variable sets, by their JSON text (sorted keys, so
    ``1`` and ``1.0`` or ``true`` stay apart). Longer variables are coerced every time."""
    try:
        key = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # cannot happen for decoded JSON; coerced every time
        key = None
    if key is not None and len(key) <= MAX_VARIABLES_TEXT and key in known.bound:
        known.bound.move_to_end(key)
        return known.bound[key]
    coerced = coerce(schema, known, variables)
    found = None if coerced is None else bound_plan(known, coerced, base_url)
    if key is not None and len(key) <= MAX_VARIABLES_TEXT:
        known.bound[key] = found
        if len(known.bound) > MAX_BOUND:
            known.bound.popitem(last=False)
    return found
