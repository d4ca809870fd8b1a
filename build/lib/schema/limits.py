"""The shape limits of a document, measured in one linear pass before graphql-core validates it.

graphql-core's validation is not linear: the rule that checks overlapping fields compares
every pair of fields with one response name, so a document repeating ``topics { nodes { id } }``
a few hundred times keeps a core busy for seconds. Strawberry's depth and alias limiters are
validation rules themselves (they run beside that rule, not before it), walk a fragment again at
every spread, and count depth one short of the selection's levels. So the limits are measured
here first, each fragment once (memoised), and a document over them is never validated.

Depth counts field levels: ``{ topics { nodes { id } } }`` is 3 deep. Fragments and inline
fragments add no level of their own; their fields count where they are spread. Introspection
subtrees (``__schema``, ``__type``, fragments on ``__Type`` and the like) are bounded by the
schema and do not count toward depth.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    # Fields selected, each fragment counted at every place it is spread.
    max_fields: int = 1000
    # How often one response name may appear in one selection set (through fragments too).
    max_repeats: int = 10


@dataclass(slots=True)
class _Size:
    depth: int = 0
    aliases: int = 0
    fields: int = 0
    # Response names at this level (fragments' fields included), and the worst repeat below.
    names: Counter[str] = field(default_factory=Counter)
    worst: tuple[int, str] = (0, "")

    def merge(self, other: _Size) -> None:
        """Add a fragment's selections to this level."""
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.fields += other.fields
        self.names.update(other.names)
        self.worst = max(self.worst, other.worst)


class _Measure:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, _Size] = {}
        self.visiting: set[str] = set()

    def fragment(self, name: str) -> _Size | None:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return None  # unknown fragments and cycles: validation reports them
        self.visiting.add(name)
        size = self.selections(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = size
        return size

    def selections(self, selection_set: SelectionSetNode) -> _Size:
        size = _Size()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                size.names[(selection.alias or selection.name).value] += 1
                size.fields += 1
                size.aliases += 1 if selection.alias else 0
                if selection.selection_set is None:
                    size.depth = max(size.depth, 1)
                    continue
                child = self.selections(selection.selection_set)
                introspection = selection.name.value.startswith("__")
                size.depth = max(size.depth, 1 if introspection else 1 + child.depth)
                size.aliases += child.aliases
                size.fields += child.fields
                size.worst = max(size.worst, child.worst)
            elif isinstance(selection, InlineFragmentNode):
                size.merge(self.selections(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                spread = self.fragment(selection.name.value)
                if spread is not None:
                    size.merge(spread)
        if size.names:
            name, count = size.names.most_common(1)[0]
            size.worst = max(size.worst, (count, name))
        return size


def too_complex(document: DocumentNode, limits: Limits) -> GraphQLError | None:
    """The first limit the document exceeds, as an error (code QUERY_TOO_COMPLEX), or None."""
    measure = _Measure(document)
    aliases = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            size = measure.selections(definition.selection_set)
            aliases += size.aliases
        elif isinstance(definition, FragmentDefinitionNode):
            # Validated even when no operation spreads it.
            found = measure.fragment(definition.name.value)
            if found is None:
                continue
            size = found
        else:
            continue
        name = definition.name.value if definition.name else "anonymous"
        on_introspection = isinstance(
            definition, FragmentDefinitionNode
        ) and definition.type_condition.name.value.startswith("__")
        if size.depth > limits.max_depth and not on_introspection:
            return _error(
                f"`{name}` is {size.depth} levels deep; at most {limits.max_depth} are allowed.",
                depth=size.depth,
                maxDepth=limits.max_depth,
            )
        count, field_name = size.worst
        if count > limits.max_repeats:
            return _error(
                f"`{field_name}` is selected {count} times in one selection set; at most "
                f"{limits.max_repeats} are allowed.",
                repeats=count,
                maxRepeats=limits.max_repeats,
            )
        if size.fields > limits.max_fields:
            return _error(
                f"`{name}` selects {size.fields} fields (a fragment counts wherever it is "
                f"spread); at most {limits.max_fields} are allowed.",
                fields=size.fields,
                maxFields=limits.max_fields,
            )
    if aliases > limits.max_aliases:
        return _error(
            f"The document uses {aliases} aliases; at most {limits.max_aliases} are allowed.",
            aliases=aliases,
            maxAliases=limits.max_aliases,
        )
    return None


def _error(message: str, **extensions: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX", **extensions})
