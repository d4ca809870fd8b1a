"""Declarative base: naming convention, tz-aware timestamps and shared column types."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names make migrations reviewable and `alembic check` stable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: sa.DateTime(timezone=True),
        int: sa.Integer(),
    }


def enum_column(enum_cls: type[enum.Enum], name: str, **kwargs: Any) -> sa.Enum:
    """A text column limited to an enum's names by a CHECK constraint.

    Text + CHECK rather than a native Postgres enum: adding a value is then a plain
    constraint swap inside a transaction, not an ``ALTER TYPE`` that alembic cannot diff.
    """
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        **kwargs,
    )
