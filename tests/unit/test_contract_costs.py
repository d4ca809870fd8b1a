"""Every contract operation, with realistic variables, fits the per-operation cost maximum
with room to spare (a third of it at most), so the limit never refuses a real client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from api.settings import Settings
from schema.cost import operation_cost
from schema.queries.nodes import MAX_IDS
from schema.schema import build_schema

OPERATIONS = Path(__file__).resolve().parents[1] / "contract" / "operations"
MAXIMUM = Settings.model_fields["query_cost_max"].default
ROOM = 3

RANGE = {"since": "2026-10-05T00:00:00Z", "until": "2026-11-30T00:00:00Z"}
CAMPAIGN = "Q2FtcGFpZ246MQ=="
TOPIC = "VG9waWM6MQ=="
# Realistic variables: the largest pages a client asks for, the most ids `nodes` accepts.
VARIABLES: dict[str, dict[str, Any]] = {
    "People": {"search": "ann", "first": 50, **RANGE},
    "CreateCampaign": {"input": {"slug": "q1", "name": "Q1", "startsOn": "2027-01-04"}},
    "CreateTopic": {"input": {"campaignId": CAMPAIGN, "hashtag": "coaching", "name": "C"}},
    "AssignTopicManager": {"input": {"topicId": TOPIC, "personId": "UGVyc29uOjE="}},
    "TrackGroup": {"input": {"campaignId": CAMPAIGN, "groupId": "R3JvdXA6MQ=="}},
    "AddResource": {
        "input": {"kind": "ARTICLE", "title": "T", "url": "https://e.x/a", "topicIds": [TOPIC]}
    },
    "SetCampaignGoal": {"input": {"campaignId": CAMPAIGN, "metric": "POSTS", "target": 100}},
    "RecordPromotion": {
        "input": {
            "campaignId": CAMPAIGN,
            "kind": "NEWSLETTER",
            "title": "N",
            "heldOn": "2026-10-12",
        }
    },
    "ClassifyPost": {"input": {"postId": "UG9zdDox", "kind": "TIP"}},
    "SyncStatus": {},
    "RequestSync": {"input": {"feeds": ["GROUP"]}},
    "ResourceLinks": {"hashtag": "leadership", "kinds": ["ARTICLE", "PODCAST_EPISODE"]},
    "ResourcePerformance": {"ids": [f"UmVzb3VyY2U6{i}" for i in range(MAX_IDS)]},
    "PostDetail": {"id": "UG9zdDox", "repliesAfter": None},
    "Search": {"text": "leadership", "first": 20},
    "TopicFeed": {"hashtag": "leadership", "first": 50},
    "CampaignDashboard": {"slug": "leadership-2026", **RANGE},
    "ContentMix": {"slug": "leadership-2026", **RANGE},
    "ManagerLeaderboard": {"slug": "leadership-2026", **RANGE},
}


def _operations() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(OPERATIONS.rglob("*.graphql")):
        text = path.read_text()
        for definition in parse(text).definitions:
            if (
                isinstance(definition, OperationDefinitionNode)
                # Not yet served (tests/unit/test_sdl.py: NOT_YET_SERVED).
                and definition.operation is not OperationType.SUBSCRIPTION
                and definition.name is not None
            ):
                found.append((str(path.relative_to(OPERATIONS)), definition.name.value, text))
    return found


OPERATION_CASES = _operations()


def test_every_operation_has_realistic_variables() -> None:
    assert sorted(name for _, name, _ in OPERATION_CASES) == sorted(VARIABLES)


@pytest.mark.parametrize(
    ("path", "name", "text"), OPERATION_CASES, ids=[f"{p}:{n}" for p, n, _ in OPERATION_CASES]
)
def test_contract_operation_fits_the_maximum_with_room(path: str, name: str, text: str) -> None:
    cost = operation_cost(build_schema()._schema, parse(text), name, VARIABLES[name])
    print(f"{path}:{name} costs {cost}")  # the table in the report: pytest -s
    assert 1 <= cost <= MAXIMUM // ROOM
