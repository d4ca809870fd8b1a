"""The npm packages some tests drive with Node (tests/js): installed by ``npm ci`` on first
use, from the committed lock file, so ``.ci/run`` needs nothing beyond Node itself."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

JS = Path(__file__).resolve().parent / "js"


def node() -> str:
    found = shutil.which("node")
    assert found, "these tests drive npm packages with Node: install Node.js (18 or later)"
    return found


def ensure_npm_packages() -> Path:
    """tests/js with its node_modules in place (one ``npm ci`` even under pytest-xdist)."""
    node()
    npm = shutil.which("npm")
    assert npm, "npm is needed to install tests/js's packages"
    with (JS / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (JS / "node_modules" / ".package-lock.json").exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=JS,
                check=True,
                timeout=300,
            )
    return JS
