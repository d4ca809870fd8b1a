"""A Yammer-REST-v1-compatible microblog simulator (Starlette, ASGI).

It is an independent fake of the microblog for the demo (``campaign simulator``) and for the sync
worker's tests: it shares no code with ``api.sync`` (not even payload models) and never touches
our database, so a test of the worker against it checks the worker against the documented shapes
in ``reference/yammer-api.md`` rather than against itself.

- ``Network`` (network.py): the in-memory microblog; ``Network.demo(anchor, now)`` seeds it from
  ``api/domain/demo_content.py``; add_message / like / set_followers / delete / edit mutate it.
- ``SimulatorConfig`` (config.py): tokens, rate limits and fault switches, adjustable at runtime.
- ``create_simulator(network, config)`` (app.py): the ASGI app, ``/api/v1/...`` plus ``/_sim/...``;
  ``simulator_state(app)`` returns what it holds (network, config, request log, live activity).
- ``RequestLog`` (log.py): every API request (time, token, path, status) for budget checks.
- ``build_export_zip(network, since, until)`` (export.py): the network data export ZIP.
- ``Replay`` (replay.py): the demo's history (``DemoScript``, script.py) played by a
  ``CampaignClock`` (clock.py) that replays its weeks fast, and the network saved and resumed;
  ``demo_app(...)`` (server.py) serves it, dating every answer by that clock.
- ``run(...)`` / ``BackgroundServer`` (server.py): uvicorn in the foreground or in a thread.
"""

from api.simulator.app import create_simulator, simulator_state
from api.simulator.config import DEFAULT_ADMIN_TOKEN, DEFAULT_TOKEN, SimulatorConfig
from api.simulator.export import build_export_zip
from api.simulator.log import RequestLog, RequestRecord
from api.simulator.network import Network, NotFound

__all__ = [
    "DEFAULT_ADMIN_TOKEN",
    "DEFAULT_TOKEN",
    "Network",
    "NotFound",
    "RequestLog",
    "RequestRecord",
    "SimulatorConfig",
    "build_export_zip",
    "create_simulator",
    "simulator_state",
]
