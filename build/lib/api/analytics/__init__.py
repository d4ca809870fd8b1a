"""Analytics: performance and growth queries over the scopes of `api.db.repositories`."""
