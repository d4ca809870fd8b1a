"""Debian's Chromium for browser tests, installed when missing (Playwright cannot fetch a
browser of its own here), and the app under uvicorn in its own process on a loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

# Headless, and quiet: nothing of Chromium's own (updates, sync, safe browsing, QUIC probes)
# goes out while a test watches the page's requests.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """The path of Debian's ``chromium``, installed with apt-get if it is not there yet.

    Never a skip: a machine that can neither find nor install it fails the test, saying so.
    """
    found = shutil.which("chromium")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail("Chromium is missing and cannot be installed here: apt-get install chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]  # another apt-get may hold the lock for a while
    for command in (
        [apt, *lock, "update"],
        [apt, *lock, "install", "-y", "--no-install-recommends", "chromium"],
    ):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=1200, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium, yet no `chromium` is on PATH")
    return found


@contextmanager
def uvicorn_app(env: dict[str, str], cwd: Path) -> Iterator[str]:
    """``api.app:create_app`` served by uvicorn in a child process, configured by ``env``
    (CAMPAIGN_* variables); yields its base URL once it answers /healthz."""
    with socket.socket() as sock:
        # Bound and listening before the child starts: no free-port race, and requests sent
        # before uvicorn accepts wait in the backlog.
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        command += ["--fd", str(sock.fileno()), "--log-level", "warning"]
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
        child_env.update(env, CAMPAIGN_PUBLIC_URL=base)
        process = subprocess.Popen(command, env=child_env, cwd=cwd, pass_fds=[sock.fileno()])
        try:
            response = httpx.get(f"{base}/healthz", timeout=60)
            assert response.status_code == 200, response.text
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
