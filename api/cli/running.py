"""Running the service: `up`, `serve`, and the simulator alone."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api import supervisor
from api.cli.base import _settings, database, main
from api.domain.enums import Role
from api.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

SIMULATOR_STORE = "simulator.pickle"  # in the data folder


# -- running ----------------------------------------------------------------------------------
def _serve(
    settings: Settings,
    url: str,
    host: str,
    port: int,
    workers: int,
    *,
    embedded: bool,
    verbose: bool,
) -> None:
    settings = settings.model_copy(update={"database_url": url, "host": host, "port": port})
    if workers == 1:
        import uvicorn

        from api.app import create_app

        # log_config=None: the command's logging (api/logs.py) formats uvicorn's lines too.
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
        return
    # One Python process uses one core.  Uvicorn's workers are fresh processes that import the
    # app by name, so they read their settings from the environment: hand them what the
    # command resolved (the database URL may be the embedded server's).
    os.environ.update(
        {"CAMPAIGN_DATABASE_URL": url, "CAMPAIGN_HOST": host, "CAMPAIGN_PORT": str(port)}
    )
    if not embedded:
        # The supervisor needs none of what this command imported: it becomes a process
        # that holds only uvicorn (api/supervisor.py).
        supervisor.exec_supervisor(
            host,
            port,
            workers,
            json_logs=settings.json_logs,
            verbose=verbose,
            access_log=settings.access_log_enabled,
        )
    # An embedded PostgreSQL is this process's to stop once the workers have: it stays.
    supervisor.supervise(host, port, workers, verbose=verbose)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="API processes sharing the port (default: the number of cores).",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the GraphQL API (the database must be migrated)."""
    settings = _settings(ctx)
    host = host or settings.host
    _check_listen(settings, host)
    with database(settings) as url:
        _serve(
            settings,
            url,
            host,
            port or settings.port,
            workers or _cores(),
            embedded=not settings.database_url,  # database() started one in the data folder
            verbose=bool(ctx.find_root().params.get("verbose")),
        )


def _check_listen(settings: Settings, host: str) -> None:
    try:
        settings.check_listen(host)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option(
    "--pace",
    default=None,
    type=click.FloatRange(min=1),
    help="How many times faster than real time the demo replays its weeks "
    "(default CAMPAIGN_DEMO_PACE, 1440: a campaign day a minute; 1: no replay).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show initdb, migrations and every HTTP request."
)
@click.pass_context
def up(
    ctx: click.Context, host: str | None, port: int | None, pace: float | None, verbose: bool
) -> None:
    """Everything a newcomer needs: database, migrations, the microblog mirror, the API.

    Without MICROBLOG_TOKEN the bundled simulator serves the demo network on loopback and the
    worker mirrors it; the demo campaign's set-up is seeded once, on an empty database. The
    simulator replays the demo's weeks by a campaign clock (the worker's clock too) and keeps
    its network in the data folder, so a restart resumes it.
    """
    from api.auth import issue_token
    from api.cli.graphiql import ensure_graphiql
    from api.db import migrations
    from api.runner import listen, serve_with_worker

    settings = _settings(ctx)
    _quiet_start(settings, verbose or bool(ctx.find_root().params.get("verbose")))
    host, port = host or settings.host, port or settings.port
    _check_listen(settings, host)
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    ensure_graphiql(settings)  # before the banner, which stays the last thing printed
    with sock, database(settings) as url:
        migrations.upgrade(url)
        token = issue_token(settings, Role.ADMIN, "admin@example.com")
        base = settings.public_url or f"http://{host}:{port}"
        banner = (
            # The token rides in the fragment, which the browser keeps to itself; the page
            # moves it into GraphiQL's headers.
            f"\nGraphiQL:    {base}/graphql#token={token}\nAdmin token: {token}\n"
            f'(GraphiQL headers: {{"Authorization": "Bearer {token}"}})\n'
        )
        serve = functools.partial(serve_with_worker, settings, url, sock=sock)
        with contextlib.suppress(KeyboardInterrupt):
            if settings.microblog_token and settings.microblog_url:
                secret = settings.microblog_token.get_secret_value()
                asyncio.run(
                    serve(
                        microblog_url=settings.microblog_url,
                        token=secret,
                        source=settings.microblog_url,
                        demo_anchor=None,
                        on_started=lambda: _print_banner(
                            banner + f"Mirroring {settings.microblog_url}\n"
                        ),
                    )
                )
                return
            from api.seed.demo import campaign_start
            from api.simulator.app import simulator_state
            from api.simulator.config import DEFAULT_TOKEN
            from api.simulator.server import BackgroundServer

            # The demo keeps its dates across restarts: the campaign's start anchors the network.
            anchor = asyncio.run(campaign_start(url))
            app = _demo_simulator(settings, anchor, pace or settings.demo_pace)
            replay = simulator_state(app).replay
            assert replay is not None
            with BackgroundServer(app) as simulator:
                # Where the clock stood at start: the banner is printed after the set-up.
                clock_at = f"{replay.clock.now():%Y-%m-%d %H:%M} UTC, pace {replay.clock.pace:g}"
                asyncio.run(
                    serve(
                        microblog_url=simulator.url,
                        token=DEFAULT_TOKEN,
                        source=f"simulator {simulator.url}",
                        demo_anchor=replay.anchor,
                        clock=replay.clock.now,
                        on_started=lambda: _print_banner(
                            banner + f"Simulated microblog: {simulator.url} (demo network, "
                            f"campaign clock at {clock_at})\n"
                        ),
                    )
                )


def _quiet_start(settings: Settings, verbose: bool) -> None:
    """`campaign up` prints its banner last at start: uvicorn's start-up lines (the banner
    says where to go) and the routine narration of api/logs.py wait for ``--verbose``."""
    from api import logs

    logs.configure(
        json_format=settings.json_logs,
        verbose=verbose,
        access_log=settings.access_log_enabled,
        quiet=("uvicorn.error",),
    )


def _print_banner(text: str) -> None:
    # Log lines are flushed as they are written (stderr), and click.echo flushes stdout: the
    # banner lands after the lines before it and before any after it.
    click.echo(text)


def _demo_simulator(settings: Settings, anchor: date | None, pace: float) -> Starlette:
    """The demo network, replayed and saved in the data folder, limited as the worker's budget
    is.  A database without the campaign gets the demo from its first Monday; one with it
    resumes the saved network (or, with none saved, starts at the present: the mirror's
    history is already stamped)."""
    from api.simulator.server import demo_app

    return demo_app(
        anchor=anchor,
        live_activity_seconds=settings.demo_activity_seconds or None,
        pace=pace,
        store=settings.data_dir / SIMULATOR_STORE,
        from_start=anchor is None,
        rate_limits=(settings.sync_budget_requests, settings.sync_budget_window_seconds),
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
@click.option(
    "--pace",
    default=1.0,
    type=click.FloatRange(min=1),
    show_default=True,
    help="Replay the demo from the campaign's first Monday this many times faster than real "
    "time (1: the demo as of now, no replay).",
)
@click.option(
    "--state-file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the network in this file and resume it on start.",
)
def simulator(
    host: str, port: int, live_activity: float, pace: float, state_file: Path | None
) -> None:
    """Serve the bundled microblog simulator (demo network) alone."""
    from api.simulator.server import run

    click.echo(f"Simulated microblog at http://{host}:{port} (token: simulator-token)")
    run(
        host,
        port,
        live_activity_seconds=live_activity or None,
        pace=pace,
        store=state_file,
        from_start=pace > 1,
    )
