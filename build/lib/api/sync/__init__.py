"""The sync worker: mirrors the microblog (Yammer REST v1) into Postgres.

client (httpx, budgeted, retried) -> payloads (pydantic, validated at the boundary)
-> mapping (pure) -> jobs (one unit of work per page) -> scheduler (lock, budget, backoff).
``errors`` holds the error tree the client raises; ``budget`` the per-token rate budget.
"""
