"""The Relay ``Node`` interface and opaque global ids ("Type:id", base64)."""

from __future__ import annotations

import base64
import binascii

import strawberry

from api.errors import BadUserInput


@strawberry.interface(description="An object with a global id, refetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{pk}".encode()).decode())


def decode_id(global_id: str, *, field: str = "id", expect: str | None = None) -> tuple[str, int]:
    """(type name, primary key) of a global id; BAD_USER_INPUT when it is not one of ours."""
    try:
        type_name, _, pk = (
            base64.b64decode(global_id.encode(), validate=True).decode().partition(":")
        )
        value = int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadUserInput(f"`{global_id}` is not a valid id.", field=field) from exc
    if expect is not None and type_name != expect:
        raise BadUserInput(f"`{global_id}` is not the id of a {expect}.", field=field)
    return type_name, value
