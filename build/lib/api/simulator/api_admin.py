"""``/_sim/...``: the test and demo controls (not part of Yammer's API, not rate limited, no
token: the simulator listens on loopback)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.simulator.network import NotFound
from api.simulator.state import SimulatorState, sim


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def config(request: Request) -> Response:
    state = sim(request)
    if request.method == "POST":
        try:
            state.config.update(await _body(request))
        except (ValueError, TypeError, IndexError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse(state.config.to_json())


async def requests(request: Request) -> Response:
    log = sim(request).log
    if request.method == "DELETE":
        log.clear()
    return JSONResponse({"count": len(log.records), "requests": log.to_json()})


async def reset(request: Request) -> Response:
    sim(request).reset()
    return JSONResponse({"ok": True})


async def state_summary(request: Request) -> Response:
    state = sim(request)
    records = state.log.records
    return JSONResponse(
        {
            "network": state.network.summary(),
            "requests": {
                "total": len(records),
                "rate_limited": sum(1 for r in records if r.status == 429),
                "errors": sum(1 for r in records if r.status is not None and r.status >= 500),
                "by_bucket": {
                    bucket: sum(1 for r in records if r.bucket == bucket)
                    for bucket in sorted({r.bucket for r in records})
                },
            },
            "config": state.config.to_json(),
            "demo": _demo(state),
        }
    )


def _demo(state: SimulatorState) -> dict[str, Any] | None:
    """The replay, for a worker that sets up the demo campaign over it (compose)."""
    replay = state.replay
    if replay is None:
        return None
    return {
        "anchor": replay.anchor.isoformat(),
        "clock": replay.clock.now().isoformat(),
        "pace": replay.clock.pace,
        "played": replay.script.finished,
    }


def apply_activity(state: SimulatorState, data: dict[str, Any]) -> dict[str, Any]:
    """One change to the network, as ``POST /_sim/activity`` describes it."""
    network, action = state.network, data.get("action", "random")
    if action in ("post", "reply"):
        message = network.add_message(
            int(data.get("sender_id") or network.current_user_id),
            str(data["body"]),
            group_id=data.get("group_id"),
            replied_to_id=data.get("replied_to_id"),
            likes=int(data.get("likes", 0)),
        )
        return {"action": action, "message_id": message.id, "thread_id": message.thread_id}
    if action == "like":
        return {
            "action": action,
            "likes": network.like(int(data["message_id"]), int(data.get("n", 1))),
        }
    if action == "followers":
        network.set_followers(int(data["user_id"]), int(data["n"]))
        return {"action": action, "followers": int(data["n"])}
    if action == "delete":
        network.delete(int(data["message_id"]))
        return {"action": action}
    if action == "edit":
        network.edit(int(data["message_id"]), str(data["body"]))
        return {"action": action}
    if action == "random":
        return {
            "action": action,
            "steps": [state.activity.step() for _ in range(int(data.get("steps", 1)))],
        }
    raise ValueError(f"unknown action {action!r}")


async def activity(request: Request) -> Response:
    try:
        result = apply_activity(sim(request), await _body(request))
    except NotFound as exc:
        return JSONResponse({"error": f"not found: {exc}"}, 404)
    except (KeyError, ValueError, TypeError) as exc:
        return JSONResponse({"error": f"bad request: {exc}"}, 400)
    return JSONResponse({"ok": True, **result})


def routes() -> list[Route]:
    return [
        Route("/_sim/config", config, methods=["GET", "POST"]),
        Route("/_sim/requests", requests, methods=["GET", "DELETE"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/state", state_summary, methods=["GET"]),
        Route("/_sim/activity", activity, methods=["POST"]),
    ]
