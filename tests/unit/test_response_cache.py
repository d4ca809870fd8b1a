"""The response cache's bound: total bytes, least recently used out first."""

from __future__ import annotations

import json

from api.domain.enums import Role
from api.domain.principal import Principal
from api.domain.raw_json import RawJSON
from api.http_cache import entity_tag, version_of
from api.response_cache import ENTRY_OVERHEAD, LARGEST_SHARE, ResponseCache, splice


def _raw(size: int) -> RawJSON:
    return RawJSON('"' + "x" * (size - 2) + '"')


def test_total_bytes_stay_within_the_bound_least_recently_used_first_out() -> None:
    entry = len("k000") + 5_000 + ENTRY_OVERHEAD
    cache = ResponseCache(max_bytes=10 * entry)
    for i in range(10):
        cache.put(f"k{i:03}", 1, _raw(5_000))
    assert len(cache) == 10
    assert cache.bytes == 10 * entry
    # Reading an entry makes it the most recent: the next put evicts the oldest other.
    assert cache.get("k000", 1) is not None
    cache.put("k010", 1, _raw(5_000))
    assert cache.bytes <= cache.max_bytes
    assert cache.get("k000", 1) is not None
    assert cache.get("k001", 1) is None
    for i in range(11, 200):
        cache.put(f"k{i:03}", 1, _raw(5_000))
        assert cache.bytes <= cache.max_bytes
    assert len(cache) == 10
    assert cache.get("k199", 1) is not None


def test_bytes_account_for_replaced_and_evicted_entries() -> None:
    cache = ResponseCache(max_bytes=50_000)
    cache.put("a", 1, _raw(1_000))
    cache.put("a", 1, _raw(2_000))
    assert len(cache) == 1
    assert cache.bytes == len("a") + 2_000 + ENTRY_OVERHEAD


def test_an_answer_over_its_share_is_not_kept() -> None:
    cache = ResponseCache(max_bytes=80_000)
    cache.put("small", 1, _raw(1_000))
    cache.put("huge", 1, _raw(80_000 // LARGEST_SHARE))
    assert cache.get("huge", 1) is None
    assert cache.get("small", 1) is not None


def test_a_newer_version_drops_the_older_answers() -> None:
    cache = ResponseCache(max_bytes=100_000)
    cache.put("a", 1, _raw(1_000))
    assert cache.get("a", 1) is not None
    assert cache.get("b", 2) is None
    assert len(cache) == 0
    assert cache.bytes == 0
    # An answer made at an older version than the newest seen is not kept.
    cache.put("a", 1, _raw(1_000))
    assert len(cache) == 0
    cache.put("b", 2, _raw(1_000))
    assert cache.get("b", 2) is not None


def test_zero_bytes_is_off() -> None:
    assert not ResponseCache(0).enabled
    assert ResponseCache(1).enabled


def test_a_kept_answer_is_spliced_into_the_body_as_encoded() -> None:
    def encode(value: object) -> str:
        return json.dumps(value, separators=(",", ":"))

    data = {"topic": {"name": "Leadership é", "n": [1, 2]}}
    raw = RawJSON(encode(data))
    body = {"data": raw, "extensions": {"cost": {"requestedQueryCost": 3}}}
    assert splice(body, encode) == encode({**body, "data": data})
    assert splice({"data": raw}, encode) == encode({"data": data})
    assert splice({"data": None}, encode) == '{"data":null}'


def test_the_version_is_read_back_from_a_tag() -> None:
    tag = entity_tag(
        version=42,
        principal=Principal(Role.MEMBER, "ann@example.com"),
        schema_id="s",
        query="{ topics { totalCount } }",
        variables=None,
        operation_name=None,
        media_type="application/json",
    )
    assert version_of(tag) == 42
