# The Campaign Graph image: the `campaign` command and everything it needs.
#   docker build -t campaign-graph .
#   docker run --rm -e DATABASE_URL=... -e CAMPAIGN_JWT_SECRET=... campaign-graph db upgrade

# GraphiQL's assets, fetched while building by the fetch `campaign graphiql install` makes
# (api/graphiql: npm pack of the versions locked in api/graphiql/lock.py, each tarball and file
# checked against the lock), so the image serves GraphiQL without npm or a network at run time.
# The fetch is Python's standard library around npm: Debian's python3 runs it, with nothing of
# the project installed but api/graphiql.
FROM node:22.12.0-bookworm-slim AS graphiql
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY api/__init__.py api/__init__.py
COPY api/graphiql/ api/graphiql/
RUN python3 -m api.graphiql.build /graphiql

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .

# Installed in place (-e): api.db.migrations finds pyproject.toml ([tool.alembic]) and the
# alembic/ folder next to the api package, and a regular install into site-packages would
# leave both behind.
# The versions are the ones pinned in requirements/constraints.txt, so a rebuild a month later
# installs the same ones; no [embedded] extra: here DATABASE_URL names the server.
# .campaign-data is the data folder (the simulator keeps its network there in compose); a
# volume mounted on it takes this ownership.
RUN pip install -c requirements/constraints.txt -e . \
    && useradd --create-home --uid 10001 campaign \
    && mkdir .campaign-data && chown campaign .campaign-data

# GraphiQL's assets from the stage above, read-only for the service's user. The page itself is
# still off in production unless CAMPAIGN_GRAPHIQL=true.
COPY --from=graphiql /graphiql /opt/graphiql
ENV CAMPAIGN_GRAPHIQL_ASSETS_DIR=/opt/graphiql

USER campaign
EXPOSE 8000

ENTRYPOINT ["campaign"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
