"""A request's variables, coerced once and shared by the steps that need them.

The order of defence coerces the variables against the operation's definitions (step 6,
``schema/extensions.py``), the cost step prices the operation with them (``schema/budgets.py``)
and a compiled plan binds them (``schema/compiled.py``): each used to coerce them anew. The
result is kept on the operation's Strawberry ``ExecutionContext``, which lives exactly as long
as the operation, under the document and operation it was coerced for.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from graphql.execution.values import get_variable_values

_KEPT = "_campaign_coerced_variables"


def coerced_variables(
    execution_context: Any, operation: OperationDefinitionNode
) -> Any | list[GraphQLError]:
    """graphql-core's coerced ``VariableValues`` for ``operation`` (``.coerced`` is the plain
    dict), or the errors coercing them gave."""
    ec = execution_context
    key = (id(ec.graphql_document), id(operation))
    kept = getattr(ec, _KEPT, None)
    if kept is not None and kept[0] == key:
        return kept[1]
    coerced = get_variable_values(
        ec.schema._schema, operation.variable_definitions or (), ec.variables or {}
    )
    # An execution context that takes no attributes gets them coerced each time.
    with suppress(AttributeError):
        setattr(ec, _KEPT, (key, coerced))
    return coerced
