"""Several server processes (PROMETHEUS_MULTIPROC_DIR): /metrics sums what each counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

COUNT = """
from api import metrics
from api.monitoring import process_exiting
metrics.observe(metrics.RequestStats(statements=3, operation="Feed"), 200, 0.01)
metrics.SUBSCRIBERS.inc({subscribers})
if {clean}:
    process_exiting()
"""
SCRAPE = """
from prometheus_client import generate_latest
from api.monitoring import _process_registry
print(generate_latest(_process_registry()).decode())
"""


def _python(code: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_metrics_are_summed_over_processes(tmp_path: Path) -> None:
    _python(COUNT.format(subscribers=3, clean=False), tmp_path)  # died without a word
    _python(COUNT.format(subscribers=2, clean=True), tmp_path)  # shut down cleanly
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(_python(SCRAPE, tmp_path))
        for sample in family.samples
    }
    requests = ("campaign_graphql_requests_total", (("operation", "Feed"), ("outcome", "ok")))
    assert found[requests] == 2
    assert found[("campaign_graphql_sql_statements_sum", ())] == 6
    # A cleanly stopped process's subscribers are gone; the other's stay until the folder is
    # emptied (as it must be before the processes start).
    assert found[("campaign_graphql_subscribers", ())] == 3
