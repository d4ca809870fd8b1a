"""What an operation costs, computed from its document and variables before anything runs.

Pure: graphql-core's AST, the ``GraphQLSchema`` and the coerced variables in, an integer out.
No resolver, no SQL, no Strawberry.

The rule (GitHub's "nodes" count, in points of one object each; not divided by 100):

* A **connection** (an object type with ``pageInfo``) costs ``n x (1 + c)``, where ``n`` is
  its page size (``first`` or ``last``, the larger when both; the schema's default, or
  ``DEFAULT_PAGE_SIZE`` when the argument is null) and ``c`` is what one item selects: the
  sum of what ``nodes { … }`` and ``edges { node { … } }`` select (both when both are asked).
  ``pageInfo`` and ``totalCount`` are free. So every object a page may return costs 1 and
  nested pages multiply: ``topics(first: 20) { nodes { posts(first: 100) { nodes { id } } } }``
  costs ``20 x (1 + 100 x 1) = 2,020``.
* A **list whose length an argument gives** (``nodes(ids:)``) costs ``L x (1 + c)``: each
  id is a lookup. Its length is the longest list argument's.
* **Any other list** (a post's topics, a topic's managers, a campaign's goals) is a small
  relation loaded in one batch with its parent: it costs nothing itself, but what it selects
  counts ``UNBOUNDED_LIST_SIZE`` times, so a page nested under it is still multiplied.
* **Plain fields** (scalars, enums, single objects) cost what they select, so a scalar is 0.
  Introspection fields are free (introspection is for admins).
* Fields are grouped by response key as execution does: repeated fields with one key run
  once, and each alias is a separate copy that counts again. Named and inline fragments are
  expanded where they apply; ``@skip`` and ``@include`` are evaluated with the variables.
  On an interface or union the most expensive possible type counts (Shopify's rule).
* A **mutation** costs ``MUTATION_COST`` per root field plus what its payload selects
  (Shopify charges 10: a write costs more than a read of the same rows).
* An operation costs at least 1, so every request draws on its principal's budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    type_from_ast,
)
from graphql.execution.values import get_argument_values, get_directive_values, get_variable_values
from graphql.type import GraphQLNamedType, GraphQLOutputType

from api.db.pagination import DEFAULT_PAGE_SIZE

UNBOUNDED_LIST_SIZE = 10
MUTATION_COST = 10
MINIMUM_COST = 1
PAGE_ARGUMENTS = ("first", "last")


class CostError(Exception):
    """The cost cannot be computed: no such operation, or variables that do not coerce.

    Execution reports those itself (before any resolver runs), so callers let it through.
    """


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
    coerced: Any = None,
) -> int:
    """The requested cost of the operation execution would run. ``coerced``: the variables as
    graphql-core coerced them for this operation already (``schema/variables.py``)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise CostError("no single operation to run")
    if coerced is None:
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        raise CostError("; ".join(error.message for error in coerced))
    root = schema.get_root_type(operation.operation)
    if root is None:
        raise CostError(f"the schema has no {operation.operation.value} type")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    counter = _Counter(schema, fragments, coerced)
    if operation.operation is OperationType.MUTATION:
        fields = counter.collect(root, [operation.selection_set])
        total = sum(MUTATION_COST + counter.field(root, nodes) for nodes in fields.values())
    else:
        total = counter.selection(root, [operation.selection_set])
    return max(MINIMUM_COST, total)


def _is_connection(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and "pageInfo" in type_.fields


def _is_list(type_: GraphQLOutputType) -> bool:
    return isinstance(get_nullable_type(type_), GraphQLList)


class _Counter:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Any,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        # The same selection under the same type costs the same wherever it appears; this
        # keeps interfaces inside interfaces from costing time exponential in their depth.
        self.memo: dict[tuple[str, tuple[int, ...], bool], int] = {}

    def selection(
        self, type_: GraphQLNamedType, sets: Sequence[SelectionSetNode], *, items: bool = False
    ) -> int:
        """What selecting ``sets`` on a value of ``type_`` costs (the costliest runtime type)."""
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            runtime: Iterable[GraphQLObjectType] = self.schema.get_possible_types(type_)
        elif isinstance(type_, GraphQLObjectType):
            runtime = (type_,)
        else:
            return 0
        key_sets = tuple(id(s) for s in sets)
        best = 0
        for object_type in runtime:
            key = (object_type.name, key_sets, items)
            if key not in self.memo:
                fields = self.collect(object_type, sets)
                self.memo[key] = sum(
                    self.field(object_type, nodes, in_connection=items) for nodes in fields.values()
                )
            best = max(best, self.memo[key])
        return best

    def field(
        self, parent: GraphQLObjectType, nodes: list[FieldNode], *, in_connection: bool = False
    ) -> int:
        """One response key's cost: its field, with the selections of every node merged."""
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        if name.startswith("__") or definition is None:
            return 0
        sub_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        named = get_named_type(definition.type)
        if not sub_sets:
            return 0
        if _is_connection(named):
            args = self._arguments(definition, nodes[0])
            size = self._page_size(args)
            return size * (1 + self.selection(named, sub_sets, items=True))
        inner = self.selection(named, sub_sets)
        if not _is_list(definition.type) or in_connection:
            # A connection's own `nodes` and `edges`: its page size already counts them.
            return inner
        args = self._arguments(definition, nodes[0])
        lengths = [len(v) for v in args.values() if isinstance(v, list)]
        if lengths:
            return max(lengths) * (1 + inner)
        return UNBOUNDED_LIST_SIZE * inner

    def _arguments(self, definition: Any, node: FieldNode) -> dict[str, Any]:
        try:
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:
            # An argument execution would refuse anyway; count it as if left out.
            return {}

    @staticmethod
    def _page_size(args: dict[str, Any]) -> int:
        sizes = [args[a] for a in PAGE_ARGUMENTS if isinstance(args.get(a), int)]
        return max(0, max(sizes)) if sizes else DEFAULT_PAGE_SIZE

    def collect(
        self, type_: GraphQLObjectType, sets: Sequence[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The fields executed on ``type_``, by response key (aliases apart, repeats merged)."""
        fields: dict[str, list[FieldNode]] = {}
        self._collect(type_, sets, fields, set())
        return fields

    def _collect(
        self,
        type_: GraphQLObjectType,
        sets: Sequence[SelectionSetNode],
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection_set in sets:
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if self._applies(selection.type_condition, type_):
                        self._collect(type_, [selection.selection_set], fields, visited)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in visited or fragment is None:
                        continue
                    visited.add(name)
                    if self._applies(fragment.type_condition, type_):
                        self._collect(type_, [fragment.selection_set], fields, visited)

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include.get("if") is False)

    def _applies(self, condition: Any, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = type_from_ast(self.schema, condition)
        if conditional is type_:
            return True
        if isinstance(conditional, GraphQLInterfaceType | GraphQLUnionType):
            return self.schema.is_sub_type(conditional, type_)
        return False
