"""What kind of operation a request runs, and where subscriptions may run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, OperationType
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension


def is_subscription(execution_context: Any) -> bool:
    document = execution_context.graphql_document
    if document is None:
        return False
    operation = get_operation_ast(document, execution_context.operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class SubscriptionsOverWebSocket(SchemaExtension):
    """A subscription sent over HTTP is refused before it runs: it is served only over
    ``graphql-transport-ws``, where the context carries the live activity."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if (
            not ec.pre_execution_errors
            and getattr(ec.context, "activity", None) is None
            and is_subscription(ec)
        ):
            ec.pre_execution_errors = [
                GraphQLError(
                    "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.",
                    extensions={"code": "BAD_REQUEST"},
                )
            ]
        yield
