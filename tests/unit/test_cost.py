"""Query cost from the document and variables alone (schema/cost.py), document by document."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, parse, validate

from schema.cost import MUTATION_COST, UNBOUNDED_LIST_SIZE, CostError, operation_cost
from schema.schema import build_schema


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(
    schema: GraphQLSchema,
    document: str,
    variables: dict[str, Any] | None = None,
    name: str | None = None,
) -> int:
    return operation_cost(schema, parse(document), name, variables)


# (document, variables, cost, why)
CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("{ syncStatus { state } }", {}, 1, "plain fields are free; every operation costs at least 1"),
    ('{ campaign(slug: "x") { name owner { fullName } } }', {}, 1, "single objects are free"),
    ("{ topics(first: 5) { nodes { id } } }", {}, 5, "a page costs its size"),
    ("{ topics { nodes { id } } }", {}, 20, "the schema's default page size"),
    ("{ topics(first: null) { nodes { id } } }", {}, 20, "null means the default page"),
    ("{ topics(first: -3) { nodes { id } } }", {}, 1, "a negative page holds nothing"),
    ("{ topics(first: 5) { totalCount pageInfo { hasNextPage } } }", {}, 5, "counts as a page"),
    (
        "query($n: Int) { topics(first: $n) { nodes { id } } }",
        {"n": 7},
        7,
        "the page size from a variable",
    ),
    (
        "query($n: Int = 9) { topics(first: $n) { nodes { id } } }",
        {},
        9,
        "the variable's default",
    ),
    (
        "{ topics(first: 20) { nodes { posts(first: 100) { nodes { id } } } } }",
        {},
        20 * (1 + 100),
        "nested pages multiply",
    ),
    (
        "{ topics(first: 20) { nodes { posts(first: 100) { nodes { author { "
        "posts(first: 100) { nodes { replies(first: 100) { nodes { id } } } } } } } } } }",
        {},
        20 * (1 + 100 * (1 + 100 * (1 + 100))),
        "the issue's fan-out",
    ),
    (
        "{ a: topics(first: 5) { nodes { id } } b: topics(first: 5) { nodes { id } } }",
        {},
        10,
        "each alias is a copy that counts",
    ),
    (
        "{ topics(first: 5) { nodes { id } } topics(first: 5) { nodes { name } } }",
        {},
        5,
        "a repeated field runs once",
    ),
    (
        "{ topics(first: 4) { nodes { a: posts(first: 3) { nodes { id } } "
        "b: posts(first: 3) { nodes { id } } } } }",
        {},
        4 * (1 + 3 + 3),
        "nested aliases count per parent",
    ),
    (
        "{ topics(first: 5) { edges { node { posts(first: 2) { nodes { id } } } } "
        "nodes { posts(first: 2) { nodes { id } } } } }",
        {},
        5 * (1 + 2 + 2),
        "edges and nodes each count",
    ),
    (
        "query { topics(first: 3) { nodes { ...T } } } "
        "fragment T on Topic { posts(first: 10) { nodes { ...P } } } "
        "fragment P on Post { replies(first: 2) { nodes { id } } }",
        {},
        3 * (1 + 10 * (1 + 2)),
        "named fragments are expanded",
    ),
    (
        "{ topics(first: 3) { nodes { ... on Topic { posts(first: 10) { nodes { id } } } } } }",
        {},
        3 * (1 + 10),
        "inline fragments are expanded",
    ),
    (
        "{ topics(first: 3) { nodes { ... { posts(first: 10) { nodes { id } } } } } }",
        {},
        3 * (1 + 10),
        "inline fragments without a type condition",
    ),
    (
        "query($s: Boolean!) { topics(first: 5) { nodes { id } } "
        "people(first: 50) @skip(if: $s) { nodes { id } } }",
        {"s": True},
        5,
        "@skip with a variable",
    ),
    (
        "query($s: Boolean!) { topics(first: 5) { nodes { id } } "
        "people(first: 50) @skip(if: $s) { nodes { id } } }",
        {"s": False},
        55,
        "@skip(if: false) keeps the field",
    ),
    (
        "query($i: Boolean!) { topics(first: 5) { nodes { ... @include(if: $i) { "
        "posts(first: 10) { nodes { id } } } } } }",
        {"i": False},
        5,
        "@include on an inline fragment",
    ),
    (
        "query($i: Boolean!) { topics(first: 5) { nodes { ...T @include(if: $i) } } } "
        "fragment T on Topic { posts(first: 10) { nodes { id } } }",
        {"i": True},
        5 * (1 + 10),
        "@include on a fragment spread",
    ),
    (
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Resource { title "
        "promotingPosts(first: 5) { nodes { id } } } } }",
        {"ids": ["a", "b", "c"]},
        3 * (1 + 5),
        "nodes(ids:) costs its length",
    ),
    (
        '{ nodes(ids: ["a", "b"]) { id } }',
        {},
        2,
        "nodes(ids:) with a literal list",
    ),
    (
        "query($id: ID!) { node(id: $id) { ... on Post { replies(first: 10) { nodes { id } } } "
        "... on Topic { posts(first: 30) { nodes { id } } } } }",
        {"id": "x"},
        30,
        "on an interface the costliest type counts",
    ),
    (
        "{ posts(first: 2) { nodes { topics { posts(first: 10) { nodes { id } } } } } }",
        {},
        2 * (1 + UNBOUNDED_LIST_SIZE * 10),
        "a page under a plain list is multiplied by its estimate",
    ),
    (
        "{ posts(first: 10) { nodes { topics { hashtag } hashtags } } }",
        {},
        10,
        "plain lists of plain fields are free",
    ),
    ("{ __schema { types { name fields { name } } } }", {}, 1, "introspection is free"),
    (
        "{ __typename topics(first: 2) { __typename nodes { __typename } } }",
        {},
        2,
        "__typename is free",
    ),
]


@pytest.mark.parametrize(
    ("document", "variables", "expected", "why"), CASES, ids=[c[3] for c in CASES]
)
def test_cost(
    schema: GraphQLSchema, document: str, variables: dict[str, Any], expected: int, why: str
) -> None:
    assert validate(schema, parse(document)) == []  # a document execution would run
    assert cost(schema, document, variables) == expected, why


def test_mutations_cost_ten_per_root_field_plus_their_payload(schema: GraphQLSchema) -> None:
    one = "mutation { requestSync(input: {}) { accepted } }"
    two = (
        "mutation { a: requestSync(input: {}) { accepted } b: requestSync(input: {}) { accepted } }"
    )
    assert cost(schema, one) == MUTATION_COST
    assert cost(schema, two) == 2 * MUTATION_COST


def test_the_named_operation_is_the_one_counted(schema: GraphQLSchema) -> None:
    document = (
        "query Small { topics(first: 1) { nodes { id } } } "
        "query Big { topics(first: 90) { nodes { id } } }"
    )
    assert cost(schema, document, name="Small") == 1
    assert cost(schema, document, name="Big") == 90


def test_fragment_bombs_are_counted_without_expanding_them(schema: GraphQLSchema) -> None:
    # Each level spreads the next twice under two aliases: 2^10 copies of the innermost page.
    levels = 10
    fragments = [
        f"fragment F{i} on Topic {{ posts(first: 1) {{ nodes {{ topics {{ "
        f"x: hashtag }} }} }} a{i}: managers {{ topic {{ ...F{i + 1} }} }} "
        f"b{i}: managers {{ topic {{ ...F{i + 1} }} }} }}"
        for i in range(levels)
    ]
    fragments.append(f"fragment F{levels} on Topic {{ posts(first: 1) {{ nodes {{ id }} }} }}")
    document = "{ topics(first: 1) { nodes { ...F0 } } } " + " ".join(fragments)
    expected = 1
    for _ in range(levels):
        expected = 1 + 2 * UNBOUNDED_LIST_SIZE * expected
    assert cost(schema, document) == 1 * (1 + expected)


def test_what_execution_refuses_itself_has_no_cost(schema: GraphQLSchema) -> None:
    with pytest.raises(CostError):  # a wrong variable type: execution answers it
        cost(schema, "query($n: Int) { topics(first: $n) { nodes { id } } }", {"n": "many"})
    with pytest.raises(CostError):  # two operations and no name
        cost(schema, "query A { syncStatus { state } } query B { syncStatus { state } }")
    with pytest.raises(CostError):
        cost(schema, "query A { syncStatus { state } }", name="Missing")
