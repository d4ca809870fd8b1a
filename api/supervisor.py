"""`campaign serve --workers N`: uvicorn's supervisor in a process that holds nothing else.

The command reads its settings (pydantic), checks where to listen and which database to use,
then replaces itself (``exec``, same process id) by ``python -m api.supervisor``, which imports
uvicorn and the logging set-up only: what the command had imported (the settings, click, every
command's module) would otherwise stay in memory for the server's whole life, serving nothing.
Each worker is a fresh interpreter (uvicorn spawns them) that imports this module as its
``__main__`` and then builds the app by name (``worker_app``), so this module imports nothing
of the app at the top.  tests/unit/test_supervisor_imports.py holds it to that.

Only the app's imports are the workers' own: the settings come from the environment, where
the command wrote what it resolved.  A worker configures the command's logging (api/logs.py:
JSON or text, request ids, redaction) before building the app, as one process serving alone
does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from api import logs

if TYPE_CHECKING:
    from starlette.applications import Starlette

# uvicorn's supervisor pings each worker every half second and replaces one that has not answered
# within this many seconds. A worker answers from its first moments (a thread of its own), but it
# gets there only after Python has started and imported the app; on a busy host that takes longer
# than uvicorn's 5 s, and the replacement is killed in its turn, over and over.
WORKER_HEALTHCHECK_SECONDS = 30
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# How the workers learn the command's --verbose (a flag, not a setting).
VERBOSE = "CAMPAIGN_SERVE_VERBOSE"
APP = "api.supervisor:worker_app"


def exec_supervisor(
    host: str, port: int, workers: int, *, json_logs: bool, verbose: bool, access_log: bool
) -> NoReturn:
    """Become the supervisor: this process's memory is replaced, its id and environment kept.
    ``-P``: the current folder is not put on the path (a folder named ``api`` there must not
    be imported instead of ours)."""
    argv = [sys.executable, "-P", "-m", "api.supervisor", "--host", host, "--port", str(port)]
    argv += ["--workers", str(workers)]
    argv += [flag for flag, on in _flags(json_logs, verbose, access_log) if on]
    for stream in (sys.stdout, sys.stderr):  # what is buffered would be lost with the image
        print(end="", file=stream, flush=True)
    os.execv(sys.executable, argv)


def _flags(json_logs: bool, verbose: bool, access_log: bool) -> list[tuple[str, bool]]:
    return [("--json-logs", json_logs), ("--verbose", verbose), ("--access-log", access_log)]


def supervise(host: str, port: int, workers: int, *, verbose: bool) -> None:
    """uvicorn's supervisor over ``workers`` processes, each importing the app by name."""
    import uvicorn

    os.environ[VERBOSE] = "1" if verbose else ""
    with metrics_dir():
        uvicorn.run(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # The command's logging (api/logs.py) formats uvicorn's lines too.
            log_config=None,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


@contextlib.contextmanager
def metrics_dir() -> Iterator[None]:
    """/metrics adds up every worker's counts (prometheus-client's multiprocess mode, see
    api/metrics.py): the workers share a folder that must be empty when they start.  This run
    makes its own and removes it once uvicorn has waited for its workers; a folder the operator
    names instead (PROMETHEUS_MULTIPROC_DIR) is theirs to empty.  Only the workers write there:
    this process serves nothing (and has not imported the metrics, which read the variable once,
    on import)."""
    if os.environ.get(METRICS_DIR):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="campaign-metrics-") as folder:
        os.environ[METRICS_DIR] = folder
        try:
            yield
        finally:
            del os.environ[METRICS_DIR]


def worker_app() -> Starlette:
    """A worker's app (uvicorn's factory), from the settings in the environment."""
    from api.app import create_app
    from api.settings import get_settings

    settings = get_settings()
    logs.configure(
        json_format=settings.json_logs,
        verbose=bool(os.environ.get(VERBOSE)),
        access_log=settings.access_log_enabled,
    )
    return create_app(settings)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="campaign serve (supervisor)")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    for flag, _ in _flags(False, False, False):
        parser.add_argument(flag, action="store_true")
    args = parser.parse_args(argv)
    logs.configure(json_format=args.json_logs, verbose=args.verbose, access_log=args.access_log)
    supervise(args.host, args.port, args.workers, verbose=args.verbose)


if __name__ == "__main__":
    main()
