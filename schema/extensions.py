"""Schema extensions of our own: introspection is for admins (DESIGN.md, roles)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError
from graphql.validation import ValidationRule
from strawberry.extensions import SchemaExtension

from api.domain.enums import Role


class _NoIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "Introspection is for admins; the schema is published as schema.graphql.",
                    node,
                    extensions={"code": "FORBIDDEN"},
                )
            )


class IntrospectionForAdmins(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        principal = getattr(self.execution_context.context, "principal", None)
        if principal is None or principal.role is not Role.ADMIN:
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, _NoIntrospection)
        yield
