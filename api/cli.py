"""The ``campaign`` command. It parses arguments and calls into ``api``; the logic lives there."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from api.db.enums import Role
from api.settings import Settings, get_settings

log = logging.getLogger("campaign")


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database URL to use: DATABASE_URL, or an embedded PostgreSQL in the data folder."""
    from api.db.server import resolve_database_url

    url, embedded = resolve_database_url(settings.database_url, settings.data_dir)
    if embedded is not None:
        click.echo(
            f"Embedded PostgreSQL in {embedded.data_dir} (set DATABASE_URL to use another)",
            err=True,
        )
    try:
        yield url
    finally:
        if embedded is not None:
            embedded.stop()


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj


@click.group()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Embedded PostgreSQL data folder."
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """Campaign Graph: one GraphQL picture of a learning-community campaign."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(str(exc)) from exc
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    ctx.obj = settings


# -- running ----------------------------------------------------------------------------------
def _serve(settings: Settings, url: str, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app

    settings = settings.model_copy(update={"database_url": url, "host": host, "port": port})
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the GraphQL API (the database must be migrated)."""
    settings = _settings(ctx)
    with database(settings) as url:
        _serve(settings, url, host or settings.host, port or settings.port)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.pass_context
def up(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Everything a newcomer needs: database, migrations, the microblog mirror, the API.

    Without MICROBLOG_TOKEN the bundled simulator serves the demo network on loopback and the
    worker mirrors it; the demo campaign's set-up is seeded once, on an empty database.
    """
    from api.auth import issue_token
    from api.db import migrations
    from api.runner import serve_with_worker

    settings = _settings(ctx)
    host, port = host or settings.host, port or settings.port
    with database(settings) as url:
        migrations.upgrade(url)
        token = issue_token(settings, Role.ADMIN, "admin@example.com")
        base = settings.public_url or f"http://{host}:{port}"
        banner = (
            f"\nGraphiQL:    {base}/graphql\nAdmin token: {token}\n"
            f'(GraphiQL headers: {{"Authorization": "Bearer {token}"}})\n'
        )
        run = dict(settings=settings, url=url, host=host, port=port)
        with contextlib.suppress(KeyboardInterrupt):
            if settings.microblog_token and settings.microblog_url:
                click.echo(banner + f"Mirroring {settings.microblog_url}\n")
                asyncio.run(
                    serve_with_worker(
                        **run,  # type: ignore[arg-type]
                        microblog_url=settings.microblog_url,
                        token=settings.microblog_token.get_secret_value(),
                        source=settings.microblog_url,
                        demo_anchor=None,
                    )
                )
                return
            from api.seed.demo import campaign_start
            from api.simulator.config import DEFAULT_TOKEN, SimulatorConfig
            from api.simulator.demo import default_anchor
            from api.simulator.network import Network
            from api.simulator.server import BackgroundServer, create_simulator

            # The demo keeps its dates across restarts: the campaign's start anchors the network.
            anchor = asyncio.run(campaign_start(url)) or default_anchor()
            config = SimulatorConfig(tokens={DEFAULT_TOKEN}, live_activity_seconds=30.0)
            limits = (settings.sync_budget_requests, settings.sync_budget_window_seconds)
            config.rate_limits.update(messages=limits, other=limits)
            with BackgroundServer(create_simulator(Network.demo(anchor), config)) as simulator:
                click.echo(banner + f"Simulated microblog: {simulator.url} (demo network)\n")
                asyncio.run(
                    serve_with_worker(
                        **run,  # type: ignore[arg-type]
                        microblog_url=simulator.url,
                        token=DEFAULT_TOKEN,
                        source=f"simulator {simulator.url}",
                        demo_anchor=anchor,
                    )
                )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, type=int, show_default=True)
@click.option(
    "--live-activity",
    default=30.0,
    type=float,
    show_default=True,
    help="Seconds between new posts, likes and followers (0: none).",
)
def simulator(host: str, port: int, live_activity: float) -> None:
    """Serve the bundled microblog simulator (demo network) alone."""
    from api.simulator.server import run

    click.echo(f"Simulated microblog at http://{host}:{port} (token: simulator-token)")
    run(host, port, live_activity_seconds=live_activity or None)


# -- the mirror -------------------------------------------------------------------------------
FEED_KINDS = click.Choice(["GROUP", "TOPIC", "USER", "THREAD"], case_sensitive=False)


async def _with_worker(settings: Settings, url: str, action: str, kinds: tuple[str, ...]) -> int:
    import signal

    from api.db.session import Database
    from api.sync.runtime import build_client, build_worker

    try:
        client_for_settings = build_client(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db = Database.connect(url, pool_size=4)
    try:
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


# -- database ---------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Migrations (alembic is the only way the schema is made)."""


@db.command()
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to a revision."""
    from api.db import migrations

    with database(_settings(ctx.find_root())) as url:
        migrations.upgrade(url, revision)


@db.command()
@click.option("--revision", required=True, help="Target revision, or 'base'.")
@click.pass_context
def downgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database down to a revision."""
    from api.db import migrations

    with database(_settings(ctx.find_root())) as url:
        migrations.downgrade(url, revision)


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the database's revision."""
    from api.db import migrations

    with database(_settings(ctx.find_root())) as url:
        migrations.current(url)


@db.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Fail when the models and the migrations differ."""
    from alembic.util.exc import AutogenerateDiffsDetected

    from api.db import migrations

    with database(_settings(ctx.find_root())) as url:
        try:
            migrations.check(url)
        except AutogenerateDiffsDetected as exc:
            raise click.ClickException(str(exc)) from exc


@db.command()
@click.option("-m", "--message", required=True)
@click.pass_context
def revision(ctx: click.Context, message: str) -> None:
    """Write a new migration from the difference between models and database."""
    from alembic import command
    from api.db import migrations

    with database(_settings(ctx.find_root())) as url:
        command.revision(migrations.alembic_config(url), message=message, autogenerate=True)


# -- data -------------------------------------------------------------------------------------
@main.command()
@click.option("--demo", is_flag=True, help="Load the demo campaign.")
@click.option(
    "--anchor",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Demo: the campaign's first Monday is the week of this day (default: three weeks ago).",
)
@click.option("--people", type=int, default=0, help="Generator: people to create.")
@click.option("--posts", type=int, default=0, help="Generator: posts to create.")
@click.option(
    "--seed", "random_seed", type=int, default=1, show_default=True, help="Generator: random seed."
)
@click.pass_context
def seed(
    ctx: click.Context, demo: bool, anchor: object, people: int, posts: int, random_seed: int
) -> None:
    """Load demo data, or generate a large network for tests and benchmarks."""
    from api.seed.demo import seed_demo
    from api.seed.generator import generate

    if not demo and not (people or posts):
        raise click.UsageError("Give --demo, or --people N and/or --posts M.")
    with database(_settings(ctx)) as url:
        if demo:
            anchor_day = anchor.date() if anchor else None  # type: ignore[attr-defined]
            asyncio.run(seed_demo(url, anchor=anchor_day))
            click.echo("Loaded the demo campaign.")
        if people or posts:
            stats = asyncio.run(generate(url, people=people, posts=posts, seed=random_seed))
            click.echo(f"Generated {stats}.")


# -- credentials ------------------------------------------------------------------------------
ROLE_CHOICE = click.Choice([r.value.lower() for r in Role], case_sensitive=False)


@main.group()
def token() -> None:
    """Development tokens."""


@token.command("issue")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--subject", required=True, help="Who: for a manager, their email or person id.")
@click.option("--ttl", type=int, default=None, help="Seconds until it expires.")
@click.pass_context
def token_issue(ctx: click.Context, role: str, subject: str, ttl: int | None) -> None:
    """Print a signed bearer token."""
    from api.auth import issue_token

    click.echo(issue_token(_settings(ctx.find_root()), Role(role.upper()), subject, ttl))


@main.group()
def apikey() -> None:
    """Integration API keys (the LMS uses one)."""


@apikey.command("create")
@click.option("--name", required=True)
@click.option("--role", type=ROLE_CHOICE, default="lms", show_default=True)
@click.pass_context
def apikey_create(ctx: click.Context, name: str, role: str) -> None:
    """Create a key and print it once; only its hash is stored."""
    from api.auth import create_api_key
    from api.db.session import Database

    settings = _settings(ctx.find_root())

    async def create(url: str) -> str:
        db = Database.connect(url)
        try:
            return await create_api_key(db, name, Role(role.upper()))
        finally:
            await db.dispose()

    with database(settings) as url:
        click.echo(asyncio.run(create(url)))


# -- contract ---------------------------------------------------------------------------------
@main.group()
def schema() -> None:
    """The GraphQL contract."""


@schema.command("export")
@click.option(
    "--output", type=click.Path(path_type=Path), default=None, help="File (default: stdout)."
)
def schema_export(output: Path | None) -> None:
    """Print (or write) the schema's SDL."""
    from schema.sdl import export_sdl

    sdl = export_sdl()
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)


@main.command("config")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Show the settings in effect (secrets masked)."""
    from sqlalchemy.engine import make_url

    for key, value in _settings(ctx).model_dump().items():
        if key.endswith("_url") and value and "://" in str(value) and key != "public_url":
            value = make_url(str(value)).render_as_string(hide_password=True)
        click.echo(f"{key} = {value}")


if __name__ == "__main__":
    main()
