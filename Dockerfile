# The Campaign Graph image: the `campaign` command and everything it needs.
#   docker build -t campaign-graph .
#   docker run --rm -e DATABASE_URL=... -e CAMPAIGN_JWT_SECRET=... campaign-graph db upgrade
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

USER campaign
EXPOSE 8000

ENTRYPOINT ["campaign"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
