"""What each process of `campaign serve --workers N` imports (api/supervisor.py): the supervisor
nothing of the app, a worker nothing serving does not use; and readiness's migration head,
read from the files without alembic, is alembic's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from api.db import migrations

ROOT = Path(__file__).resolve().parents[2]


def _imported(code: str) -> set[str]:
    """The modules (and their top-level packages) a fresh interpreter holds after ``code``."""
    probe = f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    names = json.loads(out.splitlines()[-1])
    return set(names) | {name.split(".")[0] for name in names}


def test_the_supervisor_imports_nothing_of_the_app() -> None:
    # As a worker does too (its __main__), and as the supervisor does before it starts them.
    imported = _imported("import api.supervisor, uvicorn.supervisors.multiprocess")
    for heavy in ("pydantic", "pydantic_settings", "sqlalchemy", "asyncpg", "strawberry"):
        assert heavy not in imported, heavy
    for app in ("api.app", "api.settings", "api.cli", "api.db", "schema"):
        assert app not in imported, app


def test_a_worker_imports_no_command_line_tools() -> None:
    imported = _imported("import api.supervisor, api.app")
    assert "api.app" in imported  # the probe did import the app
    assert "sqlalchemy" in imported
    # alembic (with mako and pygments) is the migrations commands'; httpx (with its command
    # line's rich) fetches an identity provider's keys only when one is configured; tarfile
    # unpacks GraphiQL's assets at install; the worker, seed and simulator are other commands'.
    unused = ("alembic", "mako", "httpx", "rich", "pygments", "tarfile")
    for name in (*unused, "api.sync", "api.seed", "api.simulator", "api.cli"):
        assert name not in imported, name


def test_the_migration_head_is_alembics() -> None:
    alembic = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
    assert alembic is not None
    assert migrations.head_revision() == alembic


def _migration(folder: Path, name: str, revision: str, down: str, annotated: bool) -> None:
    kind = ": Union[str, Sequence[str], None]" if annotated else ""
    (folder / f"{name}.py").write_text(
        f'"""{name}"""\nfrom typing import Sequence, Union\n\n'
        f"revision{': str' if annotated else ''} = {revision!r}\n"
        f"down_revision{kind} = {down}\n\ndef upgrade() -> None:\n    pass\n"
    )


def test_the_head_follows_merges_and_refuses_two_heads(tmp_path: Path) -> None:
    assert migrations.head_revision(tmp_path) is None  # no migrations yet
    _migration(tmp_path, "a", "a1", "None", annotated=True)
    _migration(tmp_path, "b", "b1", "'a1'", annotated=False)
    _migration(tmp_path, "c", "c1", "'a1'", annotated=True)
    (tmp_path / "notes.py").write_text("VALUE = 1\n")  # not a migration: no revision
    with pytest.raises(ValueError, match="several heads: b1, c1"):
        migrations.head_revision(tmp_path)
    _migration(tmp_path, "d", "d1", "('b1', 'c1')", annotated=True)  # a merge
    assert migrations.head_revision(tmp_path) == "d1"
