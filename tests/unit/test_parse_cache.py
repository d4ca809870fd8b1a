"""The parse cache (schema/extensions.py) is bounded by the tokens its documents hold, not only
by their number: distinct documents at the token limit cannot fill a process's memory."""

from __future__ import annotations

from schema.extensions import MAX_CACHED_TOKENS, _Parsed
from schema.schema import MAX_TOKENS


def _wide(name: str) -> str:
    """A document just under the token limit: `a0: __typename` is three tokens."""
    fields = " ".join(f"a{i}: __typename" for i in range((MAX_TOKENS - 10) // 3))
    return f"query {name} {{ {fields} }}"


def test_a_repeated_text_is_parsed_once() -> None:
    cache = _Parsed()
    first = cache("query Q { __typename }", max_tokens=MAX_TOKENS)
    assert cache("query Q { __typename }", max_tokens=MAX_TOKENS) is first
    # Other parse options are another entry.
    assert cache("query Q { __typename }", max_tokens=MAX_TOKENS + 1) is not first


def test_documents_at_the_token_limit_are_held_up_to_the_token_bound() -> None:
    cache = _Parsed()
    for i in range(256):  # as many as the count bound allows
        cache(_wide(f"Q{i}"), max_tokens=MAX_TOKENS)
        assert cache.tokens <= MAX_CACHED_TOKENS
    held = len(cache.documents)
    assert 0 < held < 256
    assert held == MAX_CACHED_TOKENS // (MAX_TOKENS - 10 + 6)  # ~2,000 tokens a document
    # The most recent are kept; the oldest went first.
    names = [key[0].split()[1] for key in cache.documents]
    assert names == [f"Q{i}" for i in range(256 - held, 256)]


def test_small_documents_are_bounded_by_count() -> None:
    cache = _Parsed(maxsize=4)
    for i in range(10):
        cache(f"query Q{i} {{ __typename }}", max_tokens=MAX_TOKENS)
    assert [key[0] for key in cache.documents] == [
        f"query Q{i} {{ __typename }}" for i in range(6, 10)
    ]
    assert cache.tokens == sum(tokens for _, tokens in cache.documents.values())
