"""The GraphQL half of the HTTP fast path (api/fast_path.py): documents a compiled plan has
answered, and the per-request steps of the order of defence that depend on the variables.

A document (text, operation name, role) is *known* once the full pipeline has validated it
and answered it from a compiled plan (schema/compiled.py sets ``Context.planned``). What the
order of defence decides from the text and the role alone (the token limit, parsing, shape
limits, validation, introspection for admins only, the operation's kind) cannot change for the
same text and role, so a known document skips those steps; what depends on the request (the
credentials, the variables and their input limits, the cost and the budget) is done again for
every request, by the same functions the full path calls.

A worker need not wait for a client to make a document known: at start (and when it reads a
persisted document it had not seen) it *prepares* stored documents (``KnownDocuments.prepare``)
by the steps the full pipeline takes before a plan answers, with the same functions and caches:
the parse with the token limit (``schema.extensions.parsed``), the shape limits and validation
with the rules a request of that role gets (``schema.extensions.validation_errors``;
introspection is for admins only), a query operation, and a compiled plan for the role (``PLANS``: a role with a
field it may not read has none). Only a (text, operation name, role) passing all of them is
known; the plan itself is still bound (or handed back) per request, as for any known document.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from api.db.compiled.compiler import Bindings, Fallback
from api.db.compiled.plans import Plan
from api.domain.enums import Role
from schema.boundary import document_problems, walk_arguments
from schema.compiled import PLANS
from schema.extensions import parsed, validation_errors
from schema.limits import Limits
from schema.types.node import decode_id

# As many as the plans (api/db/compiled/plans.py): clients send the same few documents.
MAX_KNOWN = 256
MAX_TEXT = 32_000
# Stored documents prepared at start: each takes a plan (or a "no plan") per role in the plans'
# LRU, which holds as many as the known documents.
MAX_PREPARED = MAX_KNOWN // len(Role)
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

    def remember(
        self,
        text: str,
        operation_name: str | None,
        role: Role,
        document: DocumentNode | None = None,
        *,
        evict: bool = True,
    ) -> bool:
        """Called after the full pipeline answered this document from a compiled plan (or by
        ``prepare``, with ``evict=False``: only into free room, never pushing out a document
        clients sent). Whether it is known now."""
        key = (text, operation_name, role)
        if key in self._known:
            return True
        if len(text) > MAX_TEXT or (not evict and len(self._known) >= self.maxsize):
            return False
        document = document or parse(text)
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return False
        self._known[key] = Known(text, operation_name, role, document, operation)
        if len(self._known) > self.maxsize:
            self._known.popitem(last=False)
        return True

    def full(self) -> bool:
        return len(self._known) >= self.maxsize

    def prepare(
        self,
        schema: GraphQLSchema,
        text: str,
        *,
        limits: Limits,
        max_tokens: int,
        roles: tuple[Role, ...] = tuple(Role),
    ) -> list[tuple[str | None, Role]]:
        """Make a stored document known for each of ``roles`` and each operation the full
        pipeline would answer from a compiled plan (module docstring); what became known."""
        if len(text) > MAX_TEXT:
            return []
        try:
            document = parsed(text, max_tokens)
        except GraphQLError:
            return []
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        made: list[tuple[str | None, Role]] = []
        for role in roles:
            if validation_errors(schema, text, document, role, limits):
                continue
            for operation in operations:
                if operation.operation is not OperationType.QUERY:
                    continue
                if not _has_plan(schema, text, document, operation, role):
                    continue
                names: list[str | None] = [operation.name.value] if operation.name else []
                if len(operations) == 1:
                    names.append(None)  # a request may leave the one operation unnamed
                for name in names:
                    if self.remember(text, name, role, document, evict=False):
                        made.append((name, role))
                if names:
                    # What ``coerce`` walks once per document, so that the first request
                    # need not (the input limits' fields with arguments).
                    walk_arguments(schema, document, operation)
        return made

    def clear(self) -> None:
        self._known.clear()


def _has_plan(
    schema: GraphQLSchema,
    text: str,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    role: Role,
) -> bool:
    """Whether the compiler makes a plan of this operation for this role, for the values its
    variables take by default (they decide @skip/@include only)."""
    defaults = get_variable_values(schema, operation.variable_definitions or (), {})
    variables: dict[str, Any] = {} if isinstance(defaults, list) else defaults.coerced
    return PLANS.plan(text, document, operation, role, variables) is not None


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
