"""The architecture's dependency rules (docs/ARCHITECTURE.md), checked on the source.

Who may import whom is declared as import-linter contracts in pyproject.toml
(`[tool.importlinter]`); `lint-imports` follows indirect imports as well as direct ones, and the
tests here run it so that `.ci/run`, which runs only pytest, enforces it.  What import-linter
cannot see, because it knows an external package only by its root name, is checked here: SQL is
built only in the data layer.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The `lint-imports` command's entry point, run by this interpreter wherever its scripts live.
LINT_IMPORTS = [
    sys.executable,
    "-c",
    "from importlinter.cli import lint_imports_command; lint_imports_command()",
]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # No cache: the check must see the files as they are, and write nothing into the checkout.
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


# How each contract's name starts (pyproject.toml), to find it in lint-imports' report.
CONTRACT_NAMES = {
    "layers": "Layers:",
    "schema": "schema: no worker",
    "simulator": "api.simulator is an independent fake",
    "domain": "api.domain is pure",
}
# Each probe adds one module that breaks a rule; the contract named must catch it.
PROBES = {
    # The schema reads a Principal but must not depend on how credentials are checked.
    "schema/_probe_auth.py": ("from api.auth import authenticate\n", "schema"),
    # The simulator reaching the database by way of the seed, which is what it used to do.
    "api/simulator/_probe_seed.py": ("import api.seed.demo\n", "simulator"),
    # The pure domain must stay free of database drivers.
    "api/domain/_probe_driver.py": ("import sqlalchemy\n", "domain"),
    # A cycle between the data layer and what sits on it.
    "api/db/_probe_cycle.py": ("import api.analytics.performance\n", "layers"),
}


def test_contracts_catch_what_they_forbid(tmp_path: Path) -> None:
    for folder in ("api", "schema"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for path, (source, _contract) in PROBES.items():
        (tmp_path / path).write_text(source)

    result = _lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    broken = result.stdout.partition("Broken contracts")[2]
    for path, (_source, contract) in PROBES.items():
        module = path.removesuffix(".py").replace("/", ".")
        assert f"{module} ->" in broken, (path, result.stdout)
        # Names may wrap in the summary; the broken-contract section repeats each in full.
        assert CONTRACT_NAMES[contract] in broken, (contract, result.stdout)


# -- SQL only in the data layer ---------------------------------------------------------------
# Statements are built in the repositories (api/db) and in analytics; every other layer calls
# them.  Sessions and their errors pass through other layers as types, nothing more.
DATA_LAYER = ("api/db", "api/analytics")
ALLOWED_ELSEWHERE = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}
DRIVERS = ("sqlalchemy", "asyncpg")
# Running a statement on a session or a raw connection, whatever built it.
STATEMENT_METHODS = {
    "execute",
    "executemany",
    "scalar",
    "scalars",
    "stream",
    "stream_scalars",
    "fetch",
    "fetchrow",
    "fetchval",
    "copy_records_to_table",
    "copy_to_table",
    "run_sync",
    "add_all",
    "flush",
}
# Names too common to flag on anything but a session or connection (sets have `add`).
SESSION_METHODS = {"add", "delete", "get", "merge", "refresh"}
SESSION_NAMES = {"session", "conn", "connection"}
# Known exceptions, each with the work that removes it; the test fails once one is stale.
# Modules allowed SQL outside the data layer, each with the work that removes it (none today).
KNOWN: dict[str, str] = {}


def _statement_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        for module in modules:
            if module.split(".")[0] in DRIVERS and module not in ALLOWED_ELSEWHERE:
                found.append(f"line {node.lineno}: imports {module}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            on_session = isinstance(receiver, ast.Name) and receiver.id in SESSION_NAMES
            if method in STATEMENT_METHODS or (on_session and method in SESSION_METHODS):
                found.append(f"line {node.lineno}: calls .{method}()")
    return found


def _outside_the_data_layer() -> list[Path]:
    paths = []
    for package in ("api", "schema"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            # The simulator is a fake microblog with its own in-memory network (which has a
            # `delete`); the contracts already keep it off every database driver.
            if relative.startswith((*DATA_LAYER, "api/simulator/")):
                continue
            paths.append(path)
    return paths


def test_sql_is_built_only_in_the_data_layer() -> None:
    offenders = {}
    for path in _outside_the_data_layer():
        uses = _statement_uses(path)
        if uses:
            offenders[path.relative_to(ROOT).as_posix()] = uses
    unexpected = {path: uses for path, uses in offenders.items() if path not in KNOWN}
    assert not unexpected, unexpected
    stale = set(KNOWN) - set(offenders)
    assert not stale, f"no SQL left in {sorted(stale)}: remove them from KNOWN"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import sqlalchemy as sa\n", True),
        ("from sqlalchemy.orm import Session\n", True),
        ("import asyncpg\n", True),
        ("from sqlalchemy.ext.asyncio import AsyncSession\n", False),
        ("from sqlalchemy.exc import IntegrityError\n", False),
        ("async def f(db):\n    await db.execute('SELECT 1')\n", True),
        ("def f(session, m):\n    session.add(m)\n", True),
        ("def f(seen, m):\n    seen.add(m)\n", False),
    ],
)
def test_the_sql_check_sees_statements(tmp_path: Path, source: str, expected: bool) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert bool(_statement_uses(probe)) is expected
