"""The bench reuses a kept network database only when it holds the whole network asked for."""

from __future__ import annotations

import json

from bench.kept_network import Spec, decide

SPEC = Spec(people=20_000, posts=300_000, seed=1, generator="abc12345")


def _marker(**changes: object) -> str:
    return json.dumps({**SPEC.marker(), "network": {"posts": 300_000}, "complete": True, **changes})


def test_a_missing_database_is_created() -> None:
    assert decide(SPEC, False, None) == "create"


def test_a_complete_database_for_the_same_network_is_reused() -> None:
    assert decide(SPEC, True, _marker()) == "reuse"


def test_a_database_cut_short_is_generated_again() -> None:
    assert decide(SPEC, True, None) == "recreate"  # no marker: generation never finished
    assert decide(SPEC, True, "not json") == "recreate"
    assert decide(SPEC, True, _marker(complete=False)) == "recreate"


def test_a_database_of_another_network_or_generator_is_generated_again() -> None:
    assert decide(SPEC, True, _marker(posts=20_000)) == "recreate"
    assert decide(SPEC, True, _marker(generator="ffff0000")) == "recreate"
    assert decide(SPEC, True, _marker(seed=2)) == "recreate"


def test_the_name_says_the_network_and_the_generator_version() -> None:
    assert SPEC.name() == "cg_bench_keep_300000posts_20000people_s1_gabc12345"
    assert Spec(20_000, 300_000, generator="ffff0000").name() != SPEC.name()
    assert len(SPEC.name()) <= 63  # PostgreSQL's identifier limit
