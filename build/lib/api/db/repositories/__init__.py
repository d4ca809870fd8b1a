"""Repositories: every SQL statement the API and worker run lives here (and in
``api.analytics``).  Functions take a session first, never commit, and return rows."""
