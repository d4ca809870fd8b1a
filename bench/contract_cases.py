"""The contract's read operations as the benchmark sends them: role, variables, the peers'
equivalents and how to read the rows each answer lists (to check peers agree)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from api.domain.enums import Role

ROOT = Path(__file__).resolve().parents[1]
OPS = ROOT / "tests" / "contract" / "operations"
PEERS = ROOT / "bench" / "peers"
SLUG = "learning-community"

Rows = Callable[[dict[str, Any]], Any]


def db_id(global_id: str) -> int:
    """The row id inside a Relay id ("Post:42", base64)."""
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


def _feed_rows(data: dict[str, Any]) -> Any:
    posts = data["topic"]["posts"]
    ids = [db_id(e["node"]["id"]) for e in posts["edges"]]
    return posts["totalCount"], posts["pageInfo"]["hasNextPage"], ids


def _pg_feed_rows(data: dict[str, Any]) -> Any:
    posts = data["posts"]
    ids = [int(e["node"]["id"]) for e in posts["edges"]]
    return posts["totalCount"], posts["pageInfo"]["hasNextPage"], ids


def _people_rows(data: dict[str, Any]) -> Any:
    people = data["people"]
    return people["totalCount"], [
        (
            db_id(n["id"]),
            [p["followers"] for p in n["followerGrowth"]],
            [m["topic"]["hashtag"] for m in n["managedTopics"]],
        )
        for n in people["nodes"]
    ]


def _pg_people_rows(data: dict[str, Any]) -> Any:
    people = data["people"]
    return people["totalCount"], [
        (
            int(n["id"]),
            [p["followers"] for p in n["followerGrowth"]["nodes"]],
            [m["topic"]["hashtag"] for m in n["managedTopics"]["nodes"]],
        )
        for n in people["nodes"]
    ]


def _links_rows(data: dict[str, Any]) -> Any:
    found = data["resources"]
    return found["totalCount"], [
        (
            db_id(n["id"]),
            [t["hashtag"] for t in n["topics"]],
            [db_id(e["id"]) for e in n["episodes"]],
        )
        for n in found["nodes"]
    ]


def _pg_links_rows(data: dict[str, Any]) -> Any:
    found = data["resources"]
    return found["totalCount"], [
        (
            int(n["id"]),
            [t["hashtag"] for t in n["topics"]["nodes"]],
            [int(e["id"]) for e in n["episodes"]["nodes"]],
        )
        for n in found["nodes"]
    ]


def _detail_rows(data: dict[str, Any]) -> Any:
    post = data["node"]
    replies = post["replies"]
    history = [m["likes"] for m in post["metricsHistory"]["nodes"]]
    return (
        db_id(post["id"]),
        replies["totalCount"],
        [db_id(r["id"]) for r in replies["nodes"]],
        history,
    )


def _pg_detail_rows(data: dict[str, Any]) -> Any:
    post = data["node"]
    replies = post["replies"]
    history = [m["likes"] for m in post["metricsHistory"]["nodes"]]
    return int(post["id"]), replies["totalCount"], [int(r["id"]) for r in replies["nodes"]], history


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def _plain_id(value: Any) -> Any:
    """A Relay id ("Post:42", base64) or a PostGraphile BigInt ("42") as the row id."""
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            return int(value)
        try:
            return db_id(value)
        except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
            return value
    return value


def figures(data: Any) -> Any:
    """An answer with its shape's accidents removed, to compare the project's with a peer's:
    ``{nodes: [...]}`` is its list (the project lists some things PostGraphile pages), ids are
    row ids, BigInt strings numbers, instants compared as instants (each server writes its own
    offset and precision), floats to 9 places.  The peers' documents alias every field to the
    contract's name, so what is left must be equal, field by field."""
    if isinstance(data, dict):
        if data.keys() == {"nodes"}:
            return figures(data["nodes"])
        return {k: _plain_id(v) if k == "id" else figures(v) for k, v in data.items()}
    if isinstance(data, list):
        return [figures(v) for v in data]
    if isinstance(data, float):
        return round(data, 9)
    if isinstance(data, str):
        if data.lstrip("-").isdigit():
            return int(data)
        if _INSTANT.match(data):
            return datetime.fromisoformat(data.replace("Z", "+00:00"))
    return data


def _shown_figures(data: dict[str, Any]) -> Any:
    """nodes(ids) answers null for a resource the LMS may not see; the peers leave it out."""
    return [n for n in figures(data["nodes"]) if n is not None]


@dataclass
class Peer:
    """How a peer is asked for an operation: its document (None: the raw endpoint's name)."""

    document: str | None
    variables: dict[str, Any]
    rows: Rows

    def body(self, operation: str) -> dict[str, Any]:
        if self.document is None:
            return {"operationName": operation, "variables": self.variables}
        return {"query": self.document, "variables": self.variables}


@dataclass
class Case:
    label: str
    path: str  # under tests/contract/operations
    role: Role
    variables: dict[str, Any]
    rows: Rows | None = None
    peers: dict[str, Peer] = field(default_factory=dict)

    @property
    def operation(self) -> str:
        return Path(self.path).stem

    def body(self) -> dict[str, Any]:
        return {
            "query": (OPS / self.path).read_text(),
            "variables": self.variables,
            "operationName": self.operation,
        }


@dataclass
class Lookups:
    """What realistic variables need from the network: found once before the run."""

    since: datetime
    until: datetime
    hashtag: str
    deep_cursor: str  # the project's (and raw's) cursor after `deep` posts of the topic
    pg_deep_cursors: dict[str, str]  # the same place in each PostGraphile's cursor format
    post_id: str  # a busy thread starter (PostDetail)
    resource_ids: list[str]  # the topic's resources (ResourcePerformance)


def cases(found: Lookups) -> list[Case]:
    span = {"since": found.since.isoformat(), "until": found.until.isoformat()}
    campaign = {"slug": SLUG, **span}
    feed: dict[str, Any] = {"hashtag": found.hashtag, "first": 20}
    deep = {**feed, "after": found.deep_cursor}

    def peers(
        operation: str,
        variables: dict[str, Any],
        rows: Rows,
        pg_rows: Rows,
        pg_variables: dict[str, Any] | None = None,
    ) -> dict[str, Peer]:
        raw = Peer(None, variables, rows)
        found = {"raw": raw, "raw-maintained": raw}
        for name in ("pg5", "pg4"):
            document = (PEERS / name / f"{operation}.graphql").read_text()
            found[name] = Peer(document, pg_variables or variables, pg_rows)
        return found

    def same(operation: str, variables: dict[str, Any], rows: Rows = figures) -> dict[str, Peer]:
        return peers(operation, variables, rows, rows)

    people = {"first": 20, **span}
    links = {"hashtag": found.hashtag}
    detail = {"id": found.post_id}
    search = {"text": found.hashtag, "first": 10}
    resources = {"ids": found.resource_ids}

    def feed_peers(variables: dict[str, Any], pg_after: dict[str, str]) -> dict[str, Peer]:
        raw = Peer(None, variables, _feed_rows)
        peers = {"raw": raw, "raw-maintained": raw}
        for name in ("pg5", "pg4"):
            # A peer left out of the run (--peers) has no cursor: it is never sent.
            extra = {"after": pg_after[name]} if name in pg_after else {}
            document = (PEERS / name / "TopicFeed.graphql").read_text()
            peers[name] = Peer(document, {**feed, **extra}, _pg_feed_rows)
        return peers

    return [
        Case(
            "CampaignDashboard",
            "web/CampaignDashboard.graphql",
            Role.ADMIN,
            campaign,
            figures,
            same("CampaignDashboard", campaign),
        ),
        Case(
            "ContentMix",
            "web/ContentMix.graphql",
            Role.MEMBER,
            campaign,
            figures,
            same("ContentMix", campaign),
        ),
        Case(
            "ManagerLeaderboard",
            "web/ManagerLeaderboard.graphql",
            Role.MANAGER,
            campaign,
            figures,
            same("ManagerLeaderboard", campaign),
        ),
        Case(
            "TopicFeed",
            "mobile/TopicFeed.graphql",
            Role.MEMBER,
            feed,
            _feed_rows,
            feed_peers(feed, {}),
        ),
        Case(
            "TopicFeed (deep page)",
            "mobile/TopicFeed.graphql",
            Role.MEMBER,
            deep,
            _feed_rows,
            feed_peers(deep, found.pg_deep_cursors),
        ),
        Case(
            "PostDetail",
            "mobile/PostDetail.graphql",
            Role.MEMBER,
            detail,
            _detail_rows,
            peers(
                "PostDetail",
                detail,
                _detail_rows,
                _pg_detail_rows,
                {"id": str(db_id(found.post_id))},
            ),
        ),
        Case(
            "Search", "mobile/Search.graphql", Role.MEMBER, search, figures, same("Search", search)
        ),
        Case(
            "People",
            "admin/People.graphql",
            Role.ADMIN,
            people,
            _people_rows,
            peers("People", people, _people_rows, _pg_people_rows),
        ),
        Case(
            "ResourceLinks",
            "lms/ResourceLinks.graphql",
            Role.LMS,
            links,
            _links_rows,
            peers("ResourceLinks", links, _links_rows, _pg_links_rows),
        ),
        Case(
            "ResourcePerformance",
            "lms/ResourcePerformance.graphql",
            Role.LMS,
            resources,
            _shown_figures,
            peers(
                "ResourcePerformance",
                resources,
                _shown_figures,
                _shown_figures,
                {"ids": [str(db_id(i)) for i in found.resource_ids]},
            ),
        ),
    ]
