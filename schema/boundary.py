"""Input limits, checked where values enter: nothing the database would refuse gets past.

Every text column is ``text``, yet PostgreSQL still refuses some text: a NUL character, and a
unique index entry over ~2.7 kB (a 5,000-character hashtag or a 20,000-character URL). Dates
far from today overflow period arithmetic. So each argument and input field may declare its
limit, ``strawberry.field(metadata=limit(100))``; the rest get ``DEFAULT_MAX_LENGTH``.

``problems`` walks graphql-core's coerced values beside their input types, so one walk serves
every argument of every field: queries answer a problem as BAD_USER_INPUT before any resolver
runs (``schema.extensions.Defence``), mutations answer it in ``userErrors`` (``mutations.base``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values

DEFAULT_MAX_LENGTH = 1000
# Declared limits: each well under what a unique index entry holds (~2,700 bytes).
HASHTAG_LENGTH, SLUG_LENGTH, NAME_LENGTH = 100, 100, 200
SEARCH_LENGTH, URL_LENGTH, LONG_TEXT_LENGTH = 200, 2048, 5000
MAX_LIST_LENGTH = 100
# Dates a campaign can plausibly name; beyond them period arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2100
_MAX_LENGTH = "max_length"


def limit(max_length: int) -> dict[str, int]:
    """Metadata declaring a text field's longest value."""
    return {_MAX_LENGTH: max_length}


@dataclass(frozen=True, slots=True)
class Problem:
    path: tuple[str, ...]
    message: str

    @property
    def field(self) -> str:
        return ".".join(self.path)


def _declared_max(definition: GraphQLArgument | GraphQLInputField) -> int:
    strawberry_def = (definition.extensions or {}).get("strawberry-definition")
    metadata = getattr(strawberry_def, "metadata", None) or {}
    return int(metadata.get(_MAX_LENGTH, DEFAULT_MAX_LENGTH))


def _value(
    value: Any, type_: GraphQLInputType, path: tuple[str, ...], max_length: int
) -> Iterator[Problem]:
    if value is None:
        return
    if isinstance(type_, GraphQLNonNull):
        yield from _value(value, type_.of_type, path, max_length)
    elif isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST_LENGTH:
            yield Problem(path, f"`{path[-1]}` holds at most {MAX_LIST_LENGTH} items.")
            return
        for item in items:
            yield from _value(item, type_.of_type, path, max_length)
    elif isinstance(type_, GraphQLInputObjectType):
        yield from _fields(value, type_.fields, path)
    elif isinstance(type_, GraphQLScalarType):
        yield from _scalar(value, path, max_length)


def _scalar(value: Any, path: tuple[str, ...], max_length: int) -> Iterator[Problem]:
    name = path[-1]
    if isinstance(value, str):
        if "\x00" in value:
            yield Problem(path, f"`{name}` contains a NUL character, which text cannot hold.")
        elif len(value) > max_length:
            yield Problem(path, f"`{name}` is longer than {max_length} characters.")
    elif isinstance(value, date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        yield Problem(path, f"`{name}` must fall in the years {FIRST_YEAR} to {LAST_YEAR}.")


def _fields(
    values: Mapping[str, Any], definitions: Mapping[str, GraphQLInputField], path: tuple[str, ...]
) -> Iterator[Problem]:
    for name, definition in definitions.items():
        key = definition.out_name or name
        if key in values:
            yield from _value(
                values[key], definition.type, (*path, name), _declared_max(definition)
            )


def argument_problems(arguments: Mapping[str, Any], field: GraphQLField) -> list[Problem]:
    """Problems in one field's coerced arguments, with paths of GraphQL names."""
    problems: list[Problem] = []
    for name, definition in field.args.items():
        key = definition.out_name or name
        if key in arguments:
            problems += _value(arguments[key], definition.type, (name,), _declared_max(definition))
    return problems


def field_problems(field: GraphQLField, node: FieldNode, variables: Any) -> list[Problem]:
    """``variables``: graphql-core's coerced ``VariableValues``, or the plain dict of coerced
    values Strawberry's executor gives resolvers."""
    if isinstance(variables, dict):
        variables = VariableValues(sources={}, coerced=variables)
    try:
        arguments = get_argument_values(field, node, variables)
    except GraphQLError:
        return []  # a coercion error: execution reports it as graphql-core words it
    return argument_problems(arguments, field)


class _Arguments(Visitor):
    def __init__(self, info: TypeInfo, skip: Any) -> None:
        super().__init__()
        self.info = info
        self.skip = skip  # the parent type whose fields' arguments are checked elsewhere
        self.fields: list[tuple[GraphQLField, FieldNode]] = []

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        field = self.info.get_field_def()
        if field is None or not field.args:
            return
        if self.skip is not None and self.info.get_parent_type() is self.skip:
            return
        self.fields.append((field, node))


# The fields with arguments a document may run do not depend on the variables: the walk with
# TypeInfo (the larger part of this step's cost) is done once per parsed document.  Each entry
# holds its document, so the ids in its key cannot be reused by another while it is kept.
_FIELDS: OrderedDict[tuple[int, int, int], tuple[Any, list[tuple[GraphQLField, FieldNode]]]] = (
    OrderedDict()
)
_MAX_DOCUMENTS = 256


def _fields_with_arguments(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> list[tuple[GraphQLField, FieldNode]]:
    key = (id(schema), id(document), id(operation))
    found = _FIELDS.get(key)
    if found is not None and found[0] is document:
        _FIELDS.move_to_end(key)
        return found[1]
    info = TypeInfo(schema)
    visitor = _Arguments(info, schema.mutation_type)
    targets = [operation, *(d for d in document.definitions if d.kind == "fragment_definition")]
    for target in targets:
        visit(target, TypeInfoVisitor(info, visitor))
    _FIELDS[key] = (document, visitor.fields)
    if len(_FIELDS) > _MAX_DOCUMENTS:
        _FIELDS.popitem(last=False)
    return visitor.fields


def walk_arguments(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> None:
    """Walk the document's fields with arguments now (kept), so that its first
    ``document_problems`` need not."""
    _fields_with_arguments(schema, document, operation)


def document_problems(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Any,
) -> list[Problem]:
    """Problems in the arguments of every field the operation may run (fragments included).

    A mutation's own input is skipped: the mutation reports it in ``userErrors``.
    """
    problems: list[Problem] = []
    for field, node in _fields_with_arguments(schema, document, operation):
        problems += field_problems(field, node, variables)
    return problems
