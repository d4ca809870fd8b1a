"""The mirror: `worker`, `sync --once`, `import-export`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from api.cli.base import _settings, database, main
from api.settings import Settings

# -- the mirror -------------------------------------------------------------------------------
FEED_KINDS = click.Choice(["GROUP", "TOPIC", "USER", "THREAD"], case_sensitive=False)


async def _with_worker(settings: Settings, url: str, action: str, kinds: tuple[str, ...]) -> int:
    import signal

    from api.db.session import Database
    from api.sync.runtime import build_client, build_worker

    db = Database.connect(url, pool_size=4)  # connects lazily, at the first statement
    try:
        try:
            # The rate budget is shared through the database with a running worker.
            client_for_settings = build_client(settings, db=db)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        async with client_for_settings as client:
            worker = build_worker(settings, db, client, source=settings.microblog_url or "")
            loop = asyncio.get_running_loop()
            # SIGTERM/SIGINT: finish the page in hand, commit it, and stop.
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, worker.stop.set)
            if action == "once":
                summary = await worker.run_exclusive(trigger="CLI", kinds=kinds)
                click.echo(str(summary))
                return 1 if summary.status == "FAILED" else 0
            await worker.run_forever()
            return 0
    finally:
        await db.dispose()


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Mirror the microblog forever (one active replica; the others stand by)."""
    settings = _settings(ctx)
    with database(settings) as url:
        sys.exit(asyncio.run(_with_worker(settings, url, "forever", ())))


@main.command()
@click.option("--once", is_flag=True, required=True, help="Run one pass and exit.")
@click.option("--feed", "feeds", multiple=True, type=FEED_KINDS, help="Only these feed kinds.")
@click.pass_context
def sync(ctx: click.Context, once: bool, feeds: tuple[str, ...]) -> None:
    """Run one sync pass now and print its summary."""
    settings = _settings(ctx)
    with database(settings) as url:
        sys.exit(asyncio.run(_with_worker(settings, url, "once", tuple(f.upper() for f in feeds))))


@main.command("import-export")
@click.argument("zip_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_export_command(ctx: click.Context, zip_file: Path) -> None:
    """Load a network data export (ZIP of CSVs) without spending the rate budget."""
    from api.sync.export_import import ExportError, import_export

    with database(_settings(ctx)) as url:
        try:
            stats = asyncio.run(import_export(url, zip_file))
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Imported {stats}.")
