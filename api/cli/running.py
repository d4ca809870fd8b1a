"""Running the service: `up`, `serve`, and the simulator alone."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from datetime import date

import click
from starlette.applications import Starlette

from api.cli.base import _settings, database, main
from api.domain.enums import Role
from api.settings import Settings


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
    host = host or settings.host
    _check_listen(settings, host)
    with database(settings) as url:
        _serve(settings, url, host, port or settings.port)


def _check_listen(settings: Settings, host: str) -> None:
    try:
        settings.check_listen(host)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


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
    from api.runner import listen, serve_with_worker

    settings = _settings(ctx)
    host, port = host or settings.host, port or settings.port
    _check_listen(settings, host)
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    with sock, database(settings) as url:
        migrations.upgrade(url)
        token = issue_token(settings, Role.ADMIN, "admin@example.com")
        base = settings.public_url or f"http://{host}:{port}"
        banner = (
            f"\nGraphiQL:    {base}/graphql\nAdmin token: {token}\n"
            f'(GraphiQL headers: {{"Authorization": "Bearer {token}"}})\n'
        )
        serve = functools.partial(serve_with_worker, settings, url, sock=sock)
        with contextlib.suppress(KeyboardInterrupt):
            if settings.microblog_token and settings.microblog_url:
                click.echo(banner + f"Mirroring {settings.microblog_url}\n")
                secret = settings.microblog_token.get_secret_value()
                asyncio.run(
                    serve(
                        microblog_url=settings.microblog_url,
                        token=secret,
                        source=settings.microblog_url,
                        demo_anchor=None,
                    )
                )
                return
            from api.seed.demo import campaign_start
            from api.simulator.config import DEFAULT_TOKEN
            from api.simulator.demo import default_anchor
            from api.simulator.server import BackgroundServer

            # The demo keeps its dates across restarts: the campaign's start anchors the network.
            anchor = asyncio.run(campaign_start(url)) or default_anchor()
            with BackgroundServer(_demo_simulator(settings, anchor)) as simulator:
                click.echo(banner + f"Simulated microblog: {simulator.url} (demo network)\n")
                asyncio.run(
                    serve(
                        microblog_url=simulator.url,
                        token=DEFAULT_TOKEN,
                        source=f"simulator {simulator.url}",
                        demo_anchor=anchor,
                    )
                )


def _demo_simulator(settings: Settings, anchor: date) -> Starlette:
    """The demo network with live activity, limited as the worker's budget is."""
    from api.simulator.config import DEFAULT_TOKEN, SimulatorConfig
    from api.simulator.network import Network
    from api.simulator.server import create_simulator

    config = SimulatorConfig(tokens={DEFAULT_TOKEN}, live_activity_seconds=30.0)
    limits = (settings.sync_budget_requests, settings.sync_budget_window_seconds)
    config.rate_limits.update(messages=limits, other=limits)
    return create_simulator(Network.demo(anchor), config)


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
