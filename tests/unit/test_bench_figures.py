"""The bench's agreement check (bench.contract_cases.figures) sees through the shapes the
project and PostGraphile differ in, and nothing else: a different figure or order is a
difference."""

from __future__ import annotations

import base64
from typing import Any

from bench.contract_cases import figures


def _gid(kind: str, id_: int) -> str:
    return base64.b64encode(f"{kind}:{id_}".encode()).decode()


def _project(likes: int = 7, order: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    return {
        "campaign": {
            "id": _gid("Campaign", 1),
            "performance": {"posts": 2, "likes": likes, "engagementRate": 4.5},
            "followerGrowth": [{"periodStart": "2026-11-23", "followers": 49}],
            "topics": {
                "totalCount": 2,
                "nodes": [
                    {"id": _gid("Topic", i), "createdAt": "2026-11-27T10:00:00.123000+00:00"}
                    for i in order
                ],
            },
        }
    }


def _postgraphile() -> dict[str, Any]:
    return {
        "campaign": {
            "id": "1",
            "performance": {"posts": 2, "likes": 7, "engagementRate": 4.5},
            "followerGrowth": {"nodes": [{"periodStart": "2026-11-23", "followers": "49"}]},
            "topics": {
                "totalCount": "2",
                "nodes": [
                    {"id": str(i), "createdAt": "2026-11-27T11:00:00.123+01:00"} for i in (1, 2)
                ],
            },
        }
    }


def test_relay_ids_bigints_connections_and_offsets_are_not_differences() -> None:
    assert figures(_project()) == figures(_postgraphile())


def test_a_different_figure_or_order_is_a_difference() -> None:
    assert figures(_project(likes=8)) != figures(_postgraphile())
    assert figures(_project(order=(2, 1))) != figures(_postgraphile())
