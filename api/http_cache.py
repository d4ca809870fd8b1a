"""HTTP caching of GraphQL GET answers: an ETag per answer, and 304 without executing.

The ETag is a digest of what the answer depends on:

* the data version (``api/db/repositories/data_version.py``), bumped by every worker commit
  and every mutation in their own transactions, and read before executing;
* who asks: the role, and for managers and members (whose answers depend on who they are)
  the subject;
* the document, variables and operation name, and the media type answered;
* the schema (a deploy that changes it changes every tag) and the UTC date (current topic
  managers are those of ``current_date``).

A request whose ``If-None-Match`` names the current tag gets 304 after one statement (the
version), with no resolver run and no budget drawn. Documents that select ``syncStatus`` get
no tag: its figures (lag, the worker's liveness) move with the clock, not the data.

``Cache-Control: private, no-cache``: a browser may keep the answer but must ask each time
(answers depend on the credentials, so shared caches must not keep them).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from api.db.repositories import data_version
from api.db.request_session import Reads
from api.domain.enums import Role
from api.domain.principal import Principal

CACHE_CONTROL = "private, no-cache"
# Answers depend on the media type asked for and on the credentials.
VARY = "Accept, Authorization, X-API-Key"
# Roles whose answers depend on who asks, not only on the role.
_PERSONAL = frozenset({Role.MANAGER, Role.MEMBER})
# Fields whose values move without the data version: an answer selecting them is never tagged
# (nor kept, api/response_cache.py). `syncStatus` follows the clock; `clickCount` counts the
# follows of tracked links (api/links.py), written on a hot path that takes no part in the
# version, so one click does not invalidate every answer. A word match on the text is
# conservative (a comment naming one only costs the tag).
_VOLATILE = re.compile(r"\b(?:syncStatus|clickCount)\b")


def cacheable(query: str) -> bool:
    return _VOLATILE.search(query) is None


async def current_version(reads: Reads) -> int:
    # From the read side, where the answer's data comes from: a replica behind the primary
    # gives an older version, never a newer one than its data. Read before the request's read
    # snapshot begins: by the request's first bookkeeping statement when there is no replica
    # (the key's check or the budget draw), else a statement of its own
    # (api/db/request_session.py).
    return await data_version.current_on(reads)


def entity_tag(
    *,
    version: int,
    principal: Principal,
    schema_id: str,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    media_type: str,
) -> str:
    who = principal.role.value
    if principal.role in _PERSONAL:
        who = f"{who}:{principal.subject}"
    today = datetime.now(UTC).date().isoformat()
    parts = [schema_id, version, today, who, media_type, query, variables, operation_name]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    # Weak: extensions.cost (the budget left) differs between two equivalent answers.
    return f'W/"{version}-{digest[:32]}"'


def version_of(tag: str) -> int:
    """The data version an ``entity_tag`` was made at."""
    return int(_opaque(tag).strip('"').split("-", 1)[0])


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, tag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2) against each tag listed; ``*`` never matches, since
    whether an answer would be an error is known only by executing."""
    if not if_none_match:
        return False
    return any(_opaque(t) == _opaque(tag) for t in if_none_match.split(","))
