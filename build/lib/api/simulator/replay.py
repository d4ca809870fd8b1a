"""The demo as it unfolds: its script played by the campaign clock, and the network saved so a
restart resumes it.

``Replay.start`` resumes the demo saved at ``store`` (a pickle this program wrote, in the data
folder) when there is one for the same anchor; otherwise it builds the network and starts the
clock at the campaign's first Monday (``from_start``) or at the present.  ``tick`` plays every
event the clock has reached and saves the network whenever it changed (and every few seconds,
so the saved clock stays close to the one the worker last saw): what the simulator has served
is on disk before it is served, so a restart never takes back a message the mirror holds.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from api.simulator.clock import CampaignClock, real_now
from api.simulator.demo import campaign_start, default_anchor, demo_script
from api.simulator.network import Network
from api.simulator.script import DemoScript

log = logging.getLogger(__name__)
FORMAT = 1
SAVE_EVERY = 5.0  # seconds between saves when nothing changed


@dataclass
class Saved:
    anchor: date
    network: Network
    script: DemoScript
    position: datetime  # the campaign clock's time when saved
    activity: Any  # LiveActivity.snapshot()


class Replay:
    def __init__(
        self,
        anchor: date,
        network: Network,
        script: DemoScript,
        clock: CampaignClock,
        *,
        store: Path | None = None,
        activity: Any = None,
    ) -> None:
        self.anchor = anchor
        self.network = network
        self.script = script
        self.clock = clock
        self.store = store
        self.activity_snapshot = activity  # restored by the app's LiveActivity
        network.clock = clock.now  # live additions happen at the campaign clock's time
        self._saved_version = -1
        self._saved_at = 0.0

    @classmethod
    def start(
        cls,
        anchor: date | None = None,
        *,
        pace: float = 1.0,
        store: Path | None = None,
        from_start: bool = True,
        colleagues: int = 40,
        real: Callable[[], datetime] = real_now,
    ) -> Replay:
        """The saved demo if it is for ``anchor`` (any anchor when None), else a new one
        (anchored three weeks back when None).  Its clock stands still until ``clock.start()``."""
        saved = load(store) if store is not None else None
        if saved is not None and anchor in (None, saved.anchor):
            log.info("resuming the demo saved in %s at %s", store, saved.position.isoformat())
            clock = CampaignClock(saved.position, pace, real=real, started=False)
            return cls(
                saved.anchor,
                saved.network,
                saved.script,
                clock,
                store=store,
                activity=saved.activity,
            )
        if saved is not None:
            log.info("%s holds a demo from %s, not %s: starting anew", store, saved.anchor, anchor)
        anchor = anchor or default_anchor()
        network = Network()
        script = demo_script(network, anchor, colleagues=colleagues)
        position = campaign_start(anchor) if from_start else real()
        clock = CampaignClock(position, pace, real=real, started=False)
        return cls(anchor, network, script, clock, store=store)

    def tick(self, activity: Any) -> None:
        """Play what the clock has reached; save if anything changed (or a while has passed)."""
        with self.network.lock:
            self.script.advance(self.network, self.clock.now())
            due = time.monotonic() - self._saved_at >= SAVE_EVERY
            if self.store is not None and (self.network.version != self._saved_version or due):
                self.save(activity)

    def save(self, activity: Any) -> None:
        assert self.store is not None
        with self.network.lock:
            saved = Saved(
                self.anchor, self.network, self.script, self.clock.now(), activity.snapshot()
            )
            data = pickle.dumps({"format": FORMAT, "saved": saved})
            self._saved_version, self._saved_at = self.network.version, time.monotonic()
        self.store.parent.mkdir(parents=True, exist_ok=True)
        partial = self.store.with_name(self.store.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, self.store)  # never a half-written file in its place


def load(store: Path) -> Saved | None:
    try:
        data = pickle.loads(store.read_bytes())  # only ever a file this program wrote
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged or older file: start anew rather than not at all
        log.warning("cannot read the saved demo %s (%s): starting anew", store, exc)
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        log.warning("the saved demo %s has another format: starting anew", store)
        return None
    saved: Saved = data["saved"]
    return saved
