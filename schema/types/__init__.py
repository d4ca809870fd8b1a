"""GraphQL object types, one module per area; cross-references use ``strawberry.lazy``."""
