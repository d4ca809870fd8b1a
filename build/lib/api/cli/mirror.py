"""The mirror: `worker`, `sync --once`, `import-export`."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from api.cli.base import _settings, database, main
from api.settings import Settings

# -- the mirror -------------------------------------------------------------------------------
FEED_KINDS = click.Choice(["GROUP", "TOPIC", "USER", "THREAD"], case_sensitive=False)


async def _with_worker(settings: Settings, url: str, action: str, kinds: tuple[str, ...]) -> int:
    import signal

    from api.db.session import Database
    from api.sync.microblog_clock import DatedTransport, MicroblogClock
    from api.sync.runtime import build_client, build_worker

    # The bundled simulator's token: its demo, whose campaign clock the worker follows.
    clock = MicroblogClock() if _mirrors_the_demo(settings) else None
    db = Database.connect(url, pool_size=4)  # connects lazily, at the first statement
    try:
        try:
            # The rate budget is shared through the database with a running worker.
            client_for_settings = build_client(
                settings, db=db, transport=DatedTransport(clock) if clock else None
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        async with client_for_settings as client:
            worker = build_worker(
                settings, db, client, source=settings.microblog_url or "", clock=clock
            )
            if clock is not None and action == "forever":
                await _set_up_demo(settings, url, db, worker, clock)
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


def _mirrors_the_demo(settings: Settings) -> bool:
    from api.simulator.config import DEFAULT_TOKEN

    token = settings.microblog_token
    return token is not None and token.get_secret_value() == DEFAULT_TOKEN


async def _set_up_demo(settings: Settings, url: str, db: Any, worker: Any, clock: Any) -> None:
    """As `campaign up` does: on a database without the demo campaign, mirror the simulator's
    directory, then seed the campaign's set-up on the simulator's anchor."""
    import httpx

    from api.seed.demo import campaign_start, seed_demo_campaign

    try:
        async with httpx.AsyncClient(base_url=settings.microblog_url or "", timeout=10) as http:
            response = await http.get("/_sim/state")
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the simulator at {settings.microblog_url}: {exc}") from exc
    clock.observe(response.headers.get("date"))  # from the first run on, the demo's time
    demo = response.json().get("demo")
    if demo is None or await campaign_start(url) is not None:
        return
    click.echo("Mirroring the simulator's directory, then setting up the demo campaign")
    await worker.run_exclusive(trigger="SETUP")
    await seed_demo_campaign(db, date.fromisoformat(demo["anchor"]))


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Mirror the microblog forever (one active replica; the others stand by).

    With the bundled simulator's token (`campaign simulator`) it mirrors the demo: it follows
    the simulator's campaign clock (the Date of its answers) and, on a database without the
    demo campaign, sets the campaign up as `campaign up` does.
    """
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
