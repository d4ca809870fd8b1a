"""`campaign graphiql install`: fetch GraphiQL's pinned assets (and `campaign up`'s first start)."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.base import _settings, main
from api.settings import Settings


def fetch_graphiql(folder: Path) -> None:
    """Fetch what is missing from ``folder``; fails with the reason and what to do."""
    from api.graphiql.assets import InstallError, install, missing

    if not missing(folder):
        return
    click.echo(f"Fetching GraphiQL's assets with npm into {folder} (once)...", err=True)
    try:
        install(folder)
    except InstallError as exc:
        raise click.ClickException(
            f"GraphiQL's assets could not be fetched: {exc}. GraphiQL needs npm and its "
            "registry once; or set CAMPAIGN_GRAPHIQL_ASSETS_DIR to a folder where "
            "`campaign graphiql install` was run."
        ) from exc


def ensure_graphiql(settings: Settings) -> None:
    """For `campaign up`: GraphiQL without its assets is only a warning, never a failed start."""
    if not settings.graphiql_enabled:
        return
    try:
        fetch_graphiql(settings.graphiql_assets)
    except click.ClickException as exc:
        click.echo(f"Warning: {exc.message}", err=True)


@main.group()
def graphiql() -> None:
    """GraphiQL's assets, served by this service (never from a CDN)."""


@graphiql.command("install")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to keep them in (default CAMPAIGN_GRAPHIQL_ASSETS_DIR, or `graphiql` in the "
    "data folder).",
)
@click.pass_context
def install_command(ctx: click.Context, folder: Path | None) -> None:
    """Fetch GraphiQL's pinned npm packages (checked against their integrity) with npm."""
    folder = folder or _settings(ctx).graphiql_assets
    fetch_graphiql(folder)
    click.echo(f"GraphiQL's assets are in {folder}")
