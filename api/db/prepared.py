"""Statements built once, as SQL text with ``$n`` parameters, for asyncpg's prepared statements.

Per-request bookkeeping (the budget draw, the data version, an API key's check, a persisted
document) is one small statement each, sent on every request: building it with SQLAlchemy Core
and running it through an ``AsyncSession`` cost several times the database's own work in
Python. A ``Prepared`` statement is compiled from its Core construct at import (so the models
stay the one definition of tables and columns) and sent as text with positional arguments:
asyncpg prepares it once per connection (its statement cache) and every later request only
binds values (``RequestSession.bookkeeping_row``, ``Database.bookkeeping_row``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = asyncpg_dialect()


@dataclass(frozen=True, slots=True)
class Prepared:
    sql: str
    # The bind parameters' names in ``$n`` order, and the values of those the construct fixed.
    names: tuple[str, ...]
    constants: dict[str, Any]
    required: frozenset[str]

    def args(self, **values: Any) -> tuple[Any, ...]:
        missing = self.required - values.keys()
        if missing:
            raise TypeError(f"missing values for {sorted(missing)}")
        return tuple(values[n] if n in values else self.constants[n] for n in self.names)


def prepare(statement: ClauseElement) -> Prepared:
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    required = frozenset(b.key for b in compiled.binds.values() if b.required)
    constants = {k: v for k, v in compiled.params.items() if k not in required}
    return Prepared(sql=compiled.string, names=names, constants=constants, required=required)
