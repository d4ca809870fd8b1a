"""The Relay ``Node`` interface and opaque global ids ("Type:id", base64)."""

from __future__ import annotations

import base64
import binascii
import re

import strawberry

from api.errors import BadUserInput

# Primary keys are PostgreSQL bigints: ASCII digits (int() would also take full-width digits or '1_2'),
# no leading zero, at most 2^63 - 1.
_PK = re.compile(r"[1-9][0-9]{0,18}")
MAX_PK = 2**63 - 1


@strawberry.interface(description="An object with a global id, refetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{pk}".encode()).decode())


def decode_id(global_id: str, *, field: str = "id", expect: str | None = None) -> tuple[str, int]:
    """(type name, primary key) of a global id; BAD_USER_INPUT when it is not one of ours."""
    shown = global_id if len(global_id) <= 60 else global_id[:57] + "..."
    try:
        type_name, _, pk = (
            base64.b64decode(global_id.encode(), validate=True).decode().partition(":")
        )
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadUserInput(f"`{shown}` is not a valid id.", field=field) from exc
    if not _PK.fullmatch(pk) or int(pk) > MAX_PK:
        raise BadUserInput(f"`{shown}` is not a valid id.", field=field)
    value = int(pk)
    if expect is not None and type_name != expect:
        raise BadUserInput(f"`{shown}` is not the id of a {expect}.", field=field)
    return type_name, value
