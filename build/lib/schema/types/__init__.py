"""GraphQL object types, one module per area; cross-references use ``strawberry.lazy``."""

# First: gives the data model's enums their GraphQL names before any type refers to them.
from schema.types import enums as _enums  # noqa: F401
