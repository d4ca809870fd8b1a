"""The A/B loop the benchmarks share: every variant measured in turn, round by round.

Several servers, apps or checkouts are compared by measuring each case on each variant in
turn (A B, A B, ...), not all of A then all of B, so that noise (other processes, the
database's caches warming, a CPU frequency change) hits every variant alike; the medians of
the rounds are then compared.  bench/contract.py, bench/versus.py and bench/response_cache.py
time with it; bench/bookkeeping.py and bench/versus.py count round trips in each checkout's own
Python with ``round_trips``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]

K = TypeVar("K")  # what is measured: a case, (case, connections), ...
V = TypeVar("V")  # the variants compared: servers, apps, checkouts
R = TypeVar("R")  # one measurement


def interleaved(
    keys: Iterable[K],
    variants: Sequence[V],
    rounds: int,
    measure: Callable[[K, V], R],
    before: Callable[[K], None] | None = None,
) -> list[tuple[K, V, list[R]]]:
    """For each key (``before`` it, if given), ``rounds`` rounds measuring every variant in
    turn: (key, variant, its measurements in round order), keys then variants in order."""
    runs: list[tuple[K, V, list[R]]] = []
    for key in keys:
        if before is not None:
            before(key)
        found: list[list[R]] = [[] for _ in variants]
        for _ in range(rounds):
            for i, variant in enumerate(variants):
                found[i].append(measure(key, variant))
        runs += [(key, v, f) for v, f in zip(variants, found, strict=True)]
    return runs


async def ainterleaved(
    keys: Iterable[K],
    variants: Sequence[V],
    rounds: int,
    measure: Callable[[K, V], Awaitable[R]],
    before: Callable[[K], Awaitable[None]] | None = None,
) -> list[tuple[K, V, list[R]]]:
    """``interleaved`` with coroutines (measuring in process, one event loop)."""
    runs: list[tuple[K, V, list[R]]] = []
    for key in keys:
        if before is not None:
            await before(key)
        found: list[list[R]] = [[] for _ in variants]
        for _ in range(rounds):
            for i, variant in enumerate(variants):
                found[i].append(await measure(key, variant))
        runs += [(key, v, f) for v, f in zip(variants, found, strict=True)]
    return runs


def median(results: Iterable[dict[str, Any]], field: str) -> float | None:
    """The median of a field over rounds, leaving out rounds without it (None: none had it)."""
    found = [r[field] for r in results if r.get(field) is not None]
    return statistics.median(found) if found else None


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) of sorted values, as bench/node/load.mjs takes it (nearest rank
    below); None without values."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def round_trips(checkout: Path, spec: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each case's wire costs in ``checkout``'s own Python (bench/round_trips.py)."""
    out = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), str(ROOT / "bench" / "round_trips.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
        cwd=checkout,
    )
    found: dict[str, dict[str, int]] = json.loads(out.stdout.strip().splitlines()[-1])
    return found
