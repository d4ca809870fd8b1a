"""Directory routes (groups, users, likers) and the data export (reference §3.4, §3.5, §6)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.simulator import render
from api.simulator.api_messages import api_routes, viewer
from api.simulator.export import MODELS, build_export_zip
from api.simulator.formats import parse_iso
from api.simulator.responses import bad_request, fail, forbidden, json_response, not_found
from api.simulator.state import sim

PAGE = 50


def _page(request: Request) -> int:
    try:
        return max(int(request.query_params.get("page") or 1), 1)
    except ValueError:
        return 1


def _flag(request: Request, name: str) -> bool:
    return (request.query_params.get(name) or "").lower() in ("true", "1")


async def groups(request: Request) -> Response:
    network, me = sim(request).network, viewer(request)
    # The plain list is the public directory; mine=true is the user's own, private ones too.
    if _flag(request, "mine"):
        chosen = [g for g in network.groups.values() if me in g.member_ids]
    else:
        chosen = [g for g in network.groups.values() if not g.private]
    chosen.sort(key=lambda g: (g.full_name.lower(), g.id), reverse=_flag(request, "reverse"))
    start = (_page(request) - 1) * PAGE
    return json_response(
        request, [render.group_full(network, g) for g in chosen[start : start + PAGE]]
    )


async def group(request: Request) -> Response:
    network = sim(request).network
    found = network.groups.get(request.path_params["id"])
    if found is None:
        return not_found("Group not found")
    if not network.can_see_group(viewer(request), found.id):
        return forbidden("You are not a member of this private group")
    return json_response(request, render.group_full(network, found))


async def users(request: Request) -> Response:
    network = sim(request).network
    try:
        per_page = min(max(int(request.query_params.get("num_per_page") or PAGE), 1), PAGE)
    except ValueError:
        per_page = PAGE
    active = [u for u in network.users.values() if u.state == "active"]
    sort_by = request.query_params.get("sort_by")
    if sort_by == "followers":
        active.sort(key=lambda u: (-u.followers, u.id))
    elif sort_by == "messages":
        active.sort(key=lambda u: (-network.updates(u.id), u.id))
    else:  # alphabetical, as Yammer's default
        active.sort(key=lambda u: (u.full_name.lower(), u.id))
    if _flag(request, "reverse"):
        active.reverse()
    start = (_page(request) - 1) * per_page
    return json_response(
        request, [render.user_full(network, u) for u in active[start : start + per_page]]
    )


async def user(request: Request) -> Response:
    network = sim(request).network
    found = network.users.get(request.path_params["id"])
    if found is None:
        return not_found("User not found")
    return json_response(request, render.user_full(network, found))


async def current(request: Request) -> Response:
    network = sim(request).network
    me = network.users.get(viewer(request))
    if me is None:
        return not_found("User not found")
    data = render.user_full(network, me)
    if _flag(request, "include_group_memberships"):
        data["group_memberships"] = [
            render.group_ref(g) for g in network.groups.values() if me.id in g.member_ids
        ]
    return json_response(request, data)


async def liked_message(request: Request) -> Response:
    network = sim(request).network
    found = network.messages.get(request.path_params["id"])
    if found is None or found.deleted_at is not None:
        return not_found("Message not found")
    if not network.can_see_group(viewer(request), found.group_id):
        return forbidden("You do not have access to this message")
    # The full list of likers (liked_by.names is only a sample), newest first.
    likers = [network.users[uid] for uid in reversed(found.liker_ids)]
    start = (_page(request) - 1) * PAGE
    chosen = likers[start : start + PAGE]
    payload = {
        "users": [render.user_ref(network, u) for u in chosen],
        "more_available": start + PAGE < len(likers),
    }
    return json_response(request, payload)


async def export(request: Request) -> Response:
    if not request.state.is_admin:
        return forbidden("Data export requires a verified admin")
    params = request.query_params
    try:
        since = parse_iso(params["since"])
        until = parse_iso(params["until"]) if params.get("until") else None
    except (KeyError, ValueError):
        return bad_request("since is required and must be ISO-8601, as must until")
    models = params.getlist("model")
    if unknown := [m for m in models if m not in MODELS]:
        return fail(400, f"Unknown model {unknown[0]}")
    archive = build_export_zip(sim(request).network, since, until, models=models or None)
    stamp = int(datetime.now(UTC).timestamp())
    headers = {"content-disposition": f'attachment; filename="export-{stamp}.zip"'}
    return Response(archive, 200, media_type="application/zip", headers=headers)


def routes() -> list[Route]:
    return [
        *api_routes("/groups", groups),
        *api_routes("/groups/{id:int}", group),
        *api_routes("/users", users),
        *api_routes("/users/current", current),
        *api_routes("/users/{id:int}", user),
        *api_routes("/users/liked_message/{id:int}", liked_message),
        *api_routes("/export", export),
    ]
