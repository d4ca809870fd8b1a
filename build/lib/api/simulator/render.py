"""Yammer's JSON shapes (reference §4 and §9) for the simulator's records.

Field names, string booleans ("true"/"false" where Yammer sends strings), timestamp format and
URL shapes follow the reference's captures; values are the network's.
"""

from __future__ import annotations

from typing import Any

from api.simulator.formats import yammer_time
from api.simulator.model import Group, Message, Topic, User
from api.simulator.network import Network
from api.simulator.text import render_body

API = "https://www.yammer.com/api/v1"
WEB = "https://www.yammer.com/example.com"
MUGSHOT = "https://mugshot0.assets-yammer.com/mugshot/images"
LIKED_BY_SAMPLE = 3  # liked_by.names is a sample; users/liked_message has them all


def _flag(value: bool) -> str:
    return "true" if value else "false"


def user_ref(network: Network, user: User) -> dict[str, Any]:
    return {
        "type": "user",
        "id": user.id,
        "name": user.permalink,
        "full_name": user.full_name,
        "job_title": user.job_title,
        "state": user.state,
        "email": user.email,
        "aad_guest": False,
        "url": f"{API}/users/{user.id}",
        "web_url": f"{WEB}/users/{user.id}",
        "mugshot_url": f"{MUGSHOT}/48x48/no_photo.png",
        "mugshot_url_template": f"{MUGSHOT}/{{width}}x{{height}}/no_photo.png",
        "activated_at": yammer_time(user.activated_at),
        "stats": {
            "following": user.following,
            "followers": user.followers,
            "updates": network.updates(user.id),
        },
    }


def user_full(network: Network, user: User) -> dict[str, Any]:
    return {
        **user_ref(network, user),
        "network_id": network.network_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "department": user.department,
        "location": user.location,
        "interests": None,
        "summary": None,
        "expertise": None,
        "guid": None,
        "guest": False,
        "auto_activated": False,
        "network_name": "Example",
        "network_domains": ["example.com"],
        "mugshot_redirect_url": "https://www.yammer.com/mugshot/images/redirect/48x48/no_photo.png",
        "timezone": "UTC",
        "admin": _flag(user.admin),
        "verified_admin": _flag(user.admin),
        "can_broadcast": _flag(user.admin),
        "m365_yammer_admin": _flag(user.admin),
        "supervisor_admin": "false",
        "o365_tenant_admin": "false",
        "contact": {
            "im": {"provider": "", "username": ""},
            "phone_numbers": [],
            "email_addresses": [{"type": "primary", "address": user.email}],
            "has_fake_email": False,
        },
        "settings": {"xdr_proxy": ""},
    }


def group_ref(group: Group) -> dict[str, Any]:
    return {
        "type": "group",
        "id": group.id,
        "name": group.slug,
        "full_name": group.full_name,
        "description": group.description,
        "privacy": group.privacy,
        "url": f"{API}/groups/{group.id}",
        "web_url": f"{WEB}/#/threads/inGroup?type=in_group&feedId={group.id}",
        "mugshot_url": f"{MUGSHOT}/group_profile.png",
        "created_at": yammer_time(group.created_at),
    }


def group_full(network: Network, group: Group) -> dict[str, Any]:
    updates, last = network.group_posts(group.id)
    return {
        **group_ref(group),
        "email": "",
        "network_id": network.network_id,
        "mugshot_redirect_url": "https://www.yammer.com/mugshot/images/redirect/48x48/group_profile.png",
        "mugshot_id": None,
        "show_in_directory": _flag(not group.private),
        "aad_guests": 0,
        "color": "#2c5b85",
        "external": False,
        "moderated": group.private,
        "category": "unclassified",
        "default_thread_starter_type": "normal",
        "restricted_posting": False,
        "company_group": group.full_name == "All Company",
        "creator_type": "user",
        "creator_id": group.creator_id,
        "state": "active",
        "stats": {
            "members": group.declared_members,
            "aad_guests": 0,
            "updates": updates,
            "last_message_id": last.id if last else None,
            "last_message_at": yammer_time(last.created_at) if last else None,
        },
    }


def topic_ref(topic: Topic) -> dict[str, Any]:
    return {
        "type": "topic",
        "id": topic.id,
        "name": topic.name,
        "normalized_name": topic.normalized_name,
        "permalink": topic.normalized_name,
        "url": f"{API}/topics/{topic.id}",
        "web_url": f"{WEB}/topics/{topic.id}",
    }


def topic_full(network: Network, topic: Topic) -> dict[str, Any]:
    return {
        **topic_ref(topic),
        "network_id": network.network_id,
        "description": None,
        "office_topic_id": None,
        "followers": topic.followers,
    }


def tag_ref(topic: Topic) -> dict[str, Any]:
    # The [[tag:ID]] token uses the tag id; its web_url points at the topic (reference §4.3).
    return {
        "type": "tag",
        "id": topic.tag_id,
        "name": topic.name,
        "url": f"{API}/tags/{topic.tag_id}",
        "web_url": f"{WEB}/topics/{topic.id}",
    }


def _privacy(network: Network, group_id: int | None) -> str:
    group = network.groups.get(group_id) if group_id is not None else None
    return group.privacy if group else "public"


def thread_json(network: Network, thread_id: int) -> dict[str, Any]:
    messages = network.thread(thread_id)
    starter, replies = messages[0], messages[1:]
    senders = list(dict.fromkeys(m.sender_id for m in messages))
    return {
        "type": "thread",
        "id": thread_id,
        "thread_starter_id": thread_id,
        "url": f"{API}/messages/in_thread/{thread_id}",
        "web_url": f"{WEB}/#/Threads/show?threadId={thread_id}",
        "privacy": _privacy(network, starter.group_id),
        "direct_message": False,
        "has_attachments": False,
        "attachments": [],
        "attachments_meta": {"more_images": False, "more_files": False},
        "topics": [{"type": "topic", "id": t.id} for t in network.thread_topics(thread_id)],
        "participants": [{"type": "user", "id": uid} for uid in senders],
        "participants_count": len(senders),
        "references": [],
        "stats": {
            "updates": len(messages) + network.count_drift.get(thread_id, 0),
            "shares": 0,
            "first_reply_id": replies[0].id if replies else None,
            "first_reply_at": yammer_time(replies[0].created_at) if replies else None,
            "latest_reply_id": messages[-1].id,
            "latest_reply_at": yammer_time(messages[-1].created_at),
        },
    }


def body_json(network: Network, message: Message) -> dict[str, Any]:
    def tag_id(name: str) -> int | None:
        topic = network.topic_by_name(name)
        return topic.tag_id if topic else None

    return render_body(message.body, tag_id)


def message_json(network: Network, message: Message, *, topics: bool = False) -> dict[str, Any]:
    created = yammer_time(message.created_at)
    likers = [network.users[uid] for uid in reversed(message.liker_ids[-LIKED_BY_SAMPLE:])]
    data: dict[str, Any] = {
        "id": message.id,
        "sender_id": message.sender_id,
        "delegate_id": None,
        "replied_to_id": message.replied_to_id,
        "created_at": created,
        "published_at": created,
        "network_id": network.network_id,
        "message_type": "update",
        "sender_type": "user",
        "url": f"{API}/messages/{message.id}",
        "web_url": f"{WEB}/messages/{message.id}",
        "group_id": message.group_id,
        "group_created_id": message.group_id,
        "body": body_json(network, message),
        "thread_id": message.thread_id,
        "client_type": "Web",
        "client_url": "https://www.yammer.com/",
        "system_message": False,
        "direct_message": False,
        "chat_client_sequence": None,
        "language": "en",
        "notified_user_ids": [],
        "privacy": _privacy(network, message.group_id),
        "attachments": [],
        "liked_by": {
            "count": len(message.liker_ids),
            "names": [
                {"full_name": u.full_name, "permalink": u.permalink, "user_id": u.id}
                for u in likers
            ],
        },
        "supplemental_reply": False,
        "content_excerpt": message.body[:200],
    }
    if topics:
        data["topics"] = list(message.topic_ids)
    return data


def message_ref(network: Network, message: Message) -> dict[str, Any]:
    """The abbreviated message used in references (a replied-to message not on the page)."""
    return {
        "type": "message",
        "id": message.id,
        "sender_id": message.sender_id,
        "sender_type": "user",
        "thread_id": message.thread_id,
        "replied_to_id": message.replied_to_id,
        "group_id": message.group_id,
        "created_at": yammer_time(message.created_at),
        "url": f"{API}/messages/{message.id}",
        "web_url": f"{WEB}/messages/{message.id}",
        "body": {"plain": message.body},
    }
