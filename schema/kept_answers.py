"""A query's kept answer served in place of execution, after the budget is drawn.

The HTTP view puts an ``AnswerSlot`` in the context (``api/response_cache.py`` keeps the
answers). This extension comes after ``QueryCostAndBudget`` in the schema's list: Strawberry
enters ``on_execute`` hooks in that order, so by the time it looks, every step of the order of
defence has passed and the budget is drawn (a refusal has set ``result`` already: nothing is
served then). Setting ``execution_context.result`` skips graphql-core's ``execute``, as the
budget's refusal does; ``extensions.cost`` is still this request's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import OperationType
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension


class AnswerSlot(Protocol):
    async def kept(self) -> object | None:
        """The ``data`` kept for this request, if any."""

    def keep(self, data: Any, errors: Any) -> Any:
        """Keep an executed answer (not when it has errors); the ``data`` to answer with."""


def _is_query(execution_context: Any) -> bool:
    document = execution_context.graphql_document
    if document is None:
        return False
    operation = get_operation_ast(document, execution_context.operation_name)
    return operation is not None and operation.operation is OperationType.QUERY


class KeptAnswers(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        slot: AnswerSlot | None = getattr(ec.context, "answer_slot", None)
        if slot is None or ec.result is not None or not _is_query(ec):
            yield
            return
        kept = await slot.kept()
        if kept is not None:
            ec.result = GraphQLExecutionResult(data=kept)  # type: ignore[arg-type]
            yield
            return
        yield
        result = ec.result
        if isinstance(result, GraphQLExecutionResult):
            result.data = slot.keep(result.data, result.errors)
