"""Message routes: the feeds, single messages, threads and topics (reference §3.1-3.3)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.simulator import feeds, render
from api.simulator.model import Message
from api.simulator.responses import bad_request, forbidden, json_response, not_found
from api.simulator.state import sim

Handler = Callable[[Request], Awaitable[Response]]


def api_routes(path: str, handler: Handler) -> list[Route]:
    """``/api/v1{path}.json`` and, as the reference allows, the same path without ``.json``."""

    @functools.wraps(handler)
    async def locked(request: Request) -> Response:
        # Tests change the network from their own thread while uvicorn serves from another.
        # Handlers never suspend, so this thread lock is never held across a real await.
        with sim(request).network.lock:
            return await handler(request)

    return [Route(f"/api/v1{path}.json", locked), Route(f"/api/v1{path}", locked)]


def viewer(request: Request) -> int:
    user_id: int = request.state.user_id
    return user_id


def _feed(
    request: Request, matching: list[Message], name: str, desc: str, *, threaded: bool = True
) -> Response:
    try:
        query = feeds.FeedQuery.parse(request.query_params)
    except ValueError:
        return bad_request("older_than, newer_than and limit must be numbers")
    if not threaded:
        query.threaded = None
    state = sim(request)
    page = feeds.select(state.network, matching, query)
    payload = feeds.envelope(
        state.network,
        page,
        viewer_id=viewer(request),
        feed_name=name,
        feed_desc=desc,
        include_topics=query.include_topics,
        older_available_lies=state.config.older_available_lies,
    )
    return json_response(request, payload)


async def all_messages(request: Request) -> Response:
    network = sim(request).network
    return _feed(
        request, network.visible_messages(viewer(request)), "All", "All messages in this network"
    )


async def in_group(request: Request) -> Response:
    state = sim(request)
    group = state.network.groups.get(request.path_params["id"])
    if group is None:
        return not_found("Group not found")
    if not state.network.can_see_group(viewer(request), group.id):
        return forbidden("You are not a member of this private group")
    matching = [
        m
        for m in state.network.visible_messages(viewer(request))
        if m.group_id == group.id and (m.is_starter or not state.faults.omits_reply(m.id))
    ]
    return _feed(request, matching, group.full_name, f"Messages in {group.full_name}")


async def about_topic(request: Request) -> Response:
    network = sim(request).network
    topic = network.topics.get(request.path_params["id"])
    if topic is None:
        return not_found("Topic not found")
    matching = [m for m in network.visible_messages(viewer(request)) if topic.id in m.topic_ids]
    return _feed(request, matching, f"#{topic.name}", f"Conversations about #{topic.name}")


async def from_user(request: Request) -> Response:
    network = sim(request).network
    user = network.users.get(request.path_params["id"])
    if user is None:
        return not_found("User not found")
    matching = [m for m in network.visible_messages(viewer(request)) if m.sender_id == user.id]
    return _feed(request, matching, user.full_name, f"Messages from {user.full_name}")


async def in_thread(request: Request) -> Response:
    network = sim(request).network
    thread = network.thread(request.path_params["id"])
    if not thread:
        return not_found("Thread not found")
    if not network.can_see_group(viewer(request), thread[0].group_id):
        return forbidden("You do not have access to this thread")
    return _feed(request, thread, "Conversation", "Messages in this conversation", threaded=False)


async def message(request: Request) -> Response:
    network = sim(request).network
    found = network.messages.get(request.path_params["id"])
    if found is None or found.deleted_at is not None:
        return not_found("Message not found")
    if not network.can_see_group(viewer(request), found.group_id):
        return forbidden("You do not have access to this message")
    # A single message is the bare object, without the feed envelope.
    return json_response(request, render.message_json(network, found))


async def thread(request: Request) -> Response:
    network = sim(request).network
    messages = network.thread(request.path_params["id"])
    if not messages:
        return not_found("Thread not found")
    if not network.can_see_group(viewer(request), messages[0].group_id):
        return forbidden("You do not have access to this thread")
    return json_response(request, render.thread_json(network, messages[0].id))


async def topic(request: Request) -> Response:
    network = sim(request).network
    found = network.topics.get(request.path_params["id"])
    if found is None:
        return not_found("Topic not found")
    return json_response(request, render.topic_full(network, found))


def routes() -> list[Route]:
    return [
        *api_routes("/messages", all_messages),
        *api_routes("/messages/in_group/{id:int}", in_group),
        *api_routes("/messages/about_topic/{id:int}", about_topic),
        *api_routes("/messages/from_user/{id:int}", from_user),
        *api_routes("/messages/in_thread/{id:int}", in_thread),
        *api_routes("/messages/{id:int}", message),
        *api_routes("/threads/{id:int}", thread),
        *api_routes("/topics/{id:int}", topic),
    ]
