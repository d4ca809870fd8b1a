"""The ``campaign`` group and what every command shares: settings and the database URL."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from api.settings import Settings, get_settings

log = logging.getLogger("campaign")


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database URL to use: DATABASE_URL, or an embedded PostgreSQL in the data folder."""
    from api.db.server import EmbeddedPostgresMissing, resolve_database_url

    try:
        url, embedded = resolve_database_url(settings.database_url, settings.data_dir)
    except EmbeddedPostgresMissing as exc:
        # A setup mistake, not a defect: one line saying what to do, no traceback.
        raise click.ClickException(str(exc)) from None
    if embedded is None:
        yield url
        return
    click.echo(
        f"Embedded PostgreSQL in {embedded.data_dir} (set DATABASE_URL to use another)", err=True
    )
    # SIGTERM (docker stop, systemd, a supervisor) would end the process without unwinding,
    # leaving the embedded server running; turn it into a normal exit so it is stopped.
    previous = signal.signal(signal.SIGTERM, _exit_normally)
    try:
        yield url
    finally:
        signal.signal(signal.SIGTERM, previous)
        embedded.stop()


def _exit_normally(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj


@click.group()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Embedded PostgreSQL data folder."
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log more: debug lines, migrations, initdb, every HTTP request.",
)
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """Campaign Graph: one GraphQL picture of a learning-community campaign."""
    from api import logs

    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        logs.configure(json_format=False, verbose=verbose)
        raise click.ClickException(str(exc)) from exc
    logs.configure(
        json_format=settings.json_logs, verbose=verbose, access_log=settings.access_log_enabled
    )
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    ctx.obj = settings
