"""JSON text put into an answer as it is, never decoded and encoded again."""

from __future__ import annotations


class RawJSON:
    """An answer's ``data`` as JSON text: a kept answer (``api/response_cache.py``) or a
    compiled plan's statement's own text (``schema/compiled.py``, ``api/fast_path.py``), put
    into the body as it is (``api.response_cache.splice``).

    Not a ``str``: a JSON encoder that does not know it fails loudly instead of quoting it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text
