"""The dependency rules of DESIGN.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> module prefixes it must never import
FORBIDDEN = {
    "schema": ("api.app", "api.sync", "api.cli", "api.simulator", "api.runner", "sqlalchemy.orm"),
    "api/sync": ("schema", "api.app", "api.simulator", "api.cli"),
    # The simulator is an independent fake of the microblog: no worker code, no database.
    "api/simulator": (
        "api.sync",
        "api.db",
        "api.seed",
        "api.analytics",
        "schema",
        "api.app",
        "sqlalchemy",
        "asyncpg",
    ),
    "api/db": ("schema", "api.sync", "api.app", "api.simulator"),
    "api/analytics": ("schema", "api.sync", "api.app", "api.simulator"),
    # Pure rules below everything: no database, no worker, no schema.
    "api/domain": (
        "api.db",
        "api.analytics",
        "api.sync",
        "api.seed",
        "schema",
        "api.app",
        "api.simulator",
        "sqlalchemy",
        "asyncpg",
    ),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_keep_their_dependencies(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in _imports(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)


def test_sql_is_built_only_in_repositories_and_analytics() -> None:
    # Resolvers and jobs call repositories; they build no SQL of their own.
    offenders = []
    for package in ("schema", "api/sync"):
        for path in sorted((ROOT / package).rglob("*.py")):
            modules = _imports(path)
            # Sessions and their errors pass through; statements are built elsewhere.
            allowed = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}
            if any(m.split(".")[0] == "sqlalchemy" and m not in allowed for m in modules):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
