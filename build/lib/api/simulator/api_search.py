"""``GET /search.json`` (reference §3.6): the documented way to find a topic by its name.

The envelope is ``{"count": {...}, "messages": {"messages": [...]}, "groups": [...],
"topics": [...], "users": [...]}``; search results show topics with ``followers_count``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.simulator import render, text
from api.simulator.api_messages import api_routes, viewer
from api.simulator.responses import bad_request, json_response
from api.simulator.state import sim

PAGE = 20


async def search(request: Request) -> Response:
    term = (request.query_params.get("search") or "").strip()
    if not term:
        return bad_request("search is required")
    try:
        page = max(int(request.query_params.get("page") or 1), 1)
    except ValueError:
        page = 1
    network, me = sim(request).network, viewer(request)
    # A leading "#" asks for the topic; matching is on the folded name, as Yammer's is.
    needle = text.normalise_topic(term.lstrip("#"))
    topics = [t for t in network.topics.values() if needle in t.normalized_name]
    topics.sort(key=lambda t: (t.normalized_name != needle, t.normalized_name, t.id))
    users = [
        u
        for u in network.users.values()
        if u.state == "active" and (needle in u.full_name.lower() or needle in u.email.lower())
    ]
    groups = [
        g
        for g in network.groups.values()
        if needle in g.full_name.lower() and network.can_see_group(me, g.id)
    ]
    messages = [m for m in reversed(network.visible_messages(me)) if needle in m.body.lower()]
    start = (page - 1) * PAGE
    window = slice(start, start + PAGE)
    payload = {
        "count": {
            "messages": len(messages),
            "groups": len(groups),
            "topics": len(topics),
            "users": len(users),
        },
        "messages": {"messages": [render.message_json(network, m) for m in messages[window]]},
        "groups": [render.group_full(network, g) for g in groups[window]],
        "topics": [
            {**render.topic_full(network, t), "followers_count": t.followers}
            for t in topics[window]
        ],
        "users": [render.user_ref(network, u) for u in users[window]],
    }
    return json_response(request, payload)


def routes() -> list[Route]:
    return api_routes("/search", search)
