"""requirements/constraints.txt pins every dependency pyproject.toml declares, so installs a
month apart (README, Dockerfile, CI all use ``-c``) get the same versions."""

from __future__ import annotations

import itertools
import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return {canonicalize_name(Requirement(line).name) for line in lines}


def _pinned() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_every_declared_dependency_is_pinned() -> None:
    missing = _declared() - _pinned().keys()
    assert not missing, f"not pinned in {CONSTRAINTS.name} (regenerate it): {sorted(missing)}"


def test_every_requirement_line_is_an_exact_pin_without_extras() -> None:
    # pip refuses extras in a constraints file, and a range would let versions drift.
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert PIN.match(line), line
        assert "[" not in line.split("==")[0], line


def test_the_header_says_how_to_regenerate_it() -> None:
    lines = CONSTRAINTS.read_text().splitlines()
    header = "\n".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
    assert "pip-compile" in header
    assert "pyproject.toml" in header
