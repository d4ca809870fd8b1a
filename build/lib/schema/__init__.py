"""The GraphQL contract: Strawberry types and resolvers (no SQL; that lives in ``api.db``)."""
