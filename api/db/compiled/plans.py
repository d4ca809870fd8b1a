"""Plans kept per document text and role, and running one: a single statement."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import ArgumentNode, DocumentNode, OperationDefinitionNode, VariableNode, visit
from graphql.language import Visitor
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.compiled.compiler import Plan, Unsupported, compile_operation
from api.db.request_session import RequestSession
from api.domain.enums import Role

# As many as the validation cache (schema/extensions.py): clients send the same few documents.
MAX_PLANS = 256
# Plans are kept for documents up to this long (every client operation is far shorter).
MAX_CACHED_TEXT = 32_000


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_args: Any) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments or ():
                if isinstance(argument, ArgumentNode) and isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables @skip and @include read: a plan holds for one set of their values."""
    visitor = _DirectiveVariables()
    visit(document, visitor)
    return tuple(sorted(visitor.names))


class Plans:
    """An LRU of plans (or of ``None``: no plan) by document text, operation, role and the
    values of the variables that decide @skip/@include."""

    def __init__(self, maxsize: int = MAX_PLANS) -> None:
        self.maxsize = maxsize
        self._directives: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._plans: OrderedDict[tuple[Any, ...], Plan | None] = OrderedDict()

    def plan(
        self,
        text: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        role: Role,
        variables: dict[str, Any],
    ) -> Plan | None:
        if len(text) > MAX_CACHED_TEXT:
            return None
        names = self._directives.get(text)
        if names is None:
            names = directive_variables(document)
            self._remember(self._directives, text, names)
        name = operation.name.value if operation.name else None
        key = (text, name, role, tuple(bool(variables.get(n)) for n in names))
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        try:
            found: Plan | None = compile_operation(document, operation, role, variables)
        except Unsupported:
            found = None
        self._remember(self._plans, key, found)
        return found

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        if len(cache) > self.maxsize:
            cache.popitem(last=False)


async def run(session: AsyncSession, plan: Plan, params: list[Any]) -> str:
    """The ``data`` object as JSON text, from the plan's one statement."""
    connection = await session.connection()
    result = await connection.exec_driver_sql(plan.sql, tuple(params))
    return str(result.scalar_one())


async def run_alone(session: RequestSession, plan: Plan, params: list[Any]) -> str:
    """``run``, as a statement alone on the request's connection (``value_alone``): for the
    HTTP fast path (api/fast_path.py), which has no read snapshot to share."""
    return str(await session.value_alone(plan.sql, params))
