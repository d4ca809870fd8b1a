"""schema.limits measures documents exactly, in linear time, whatever their fragments do."""

from __future__ import annotations

from graphql import get_introspection_query, parse

from schema.limits import Limits, too_complex

LIMITS = Limits(max_depth=3, max_aliases=2, max_fields=50, max_repeats=2)


def refusal(query: str, limits: Limits = LIMITS) -> dict[str, int] | None:
    error = too_complex(parse(query), limits)
    return None if error is None else dict(error.extensions or {})


def test_depth_is_the_number_of_field_levels() -> None:
    assert refusal("{ a { b { c } } }") is None
    assert refusal("{ a { b { c { d } } } }") == {
        "code": "QUERY_TOO_COMPLEX",
        "depth": 4,
        "maxDepth": 3,
    }


def test_fragments_add_their_fields_where_they_are_spread_and_no_level_of_their_own() -> None:
    assert refusal("{ a { ...F } } fragment F on T { ... on T { b { c } } }") is None
    found = refusal("{ a { ...F } } fragment F on T { ... on T { b { c { d } } } }")
    assert found is not None
    assert found["depth"] == 4


def test_an_unused_fragment_is_measured_too() -> None:
    found = refusal("{ a } fragment F on T { a { b { c { d } } } }")
    assert found is not None
    assert found["depth"] == 4


def test_aliases_count_through_fragments() -> None:
    assert refusal("{ x: a y: a }") is None
    found = refusal("{ x: a ...F } fragment F on Q { y: a z: a }")
    assert found is not None
    assert found["aliases"] == 3


def test_repeats_count_one_response_name_in_one_selection_set_through_fragments() -> None:
    assert refusal("{ a a }") is None
    found = refusal("{ a ...F } fragment F on Q { a ... on Q { a } }")
    assert found is not None
    assert found["repeats"] == 3


def test_a_fragment_bomb_is_counted_without_being_expanded() -> None:
    # 2^40 fields once expanded; measured in one pass over 40 fragments.
    fragments = " ".join(
        f"fragment F{i} on T {{ x: a {{ ...F{i + 1} }} y: b {{ ...F{i + 1} }} }}" for i in range(40)
    )
    query = "{ r { ...F0 } } " + fragments + " fragment F40 on T { id }"
    limits = Limits(max_depth=100, max_aliases=10**20, max_fields=10**6, max_repeats=2)
    found = refusal(query, limits)
    assert found is not None
    assert found["fields"] > 2**40


def test_cycles_and_unknown_fragments_are_left_to_validation() -> None:
    assert refusal("{ a { ...F } } fragment F on T { b { ...F } }") is None
    assert refusal("{ a { ...Missing } }") is None


def test_introspection_subtrees_do_not_count_toward_depth() -> None:
    limits = Limits(max_depth=12, max_aliases=30, max_fields=500, max_repeats=10)
    assert too_complex(parse(get_introspection_query()), limits) is None
