"""Fetching GraphiQL's assets: nothing is kept that does not match the lock. A stand-in for
npm hands over tarballs made here, so these run without a network (the real fetch is
tests/e2e's `graphiql_assets` fixture)."""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
from pathlib import Path

import pytest

from api.graphiql import assets
from api.graphiql.assets import Asset, InstallError, install, missing
from api.graphiql.lock import PACKAGES, File, Package

BUNDLE = b"window.Thing = 1;\n"


def _digest(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fake_npm(tmp_path: Path, tarball: bytes, spec: str, *, exit_code: int = 0) -> str:
    """An `npm` that "packs" ``spec`` by copying ``tarball`` into --pack-destination."""
    (tmp_path / "thing.tgz").write_bytes(tarball)
    script = tmp_path / "npm"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, shutil, sys\n"
        f"if {exit_code}:\n"
        "    sys.stderr.write('npm error 404 Not Found\\n')\n"
        f"    sys.exit({exit_code})\n"
        "dest = sys.argv[sys.argv.index('--pack-destination') + 1]\n"
        f"shutil.copy({str(tmp_path / 'thing.tgz')!r}, dest)\n"
        f"print(json.dumps([{{'id': {spec!r}, 'filename': 'thing.tgz'}}]))\n"
    )
    script.chmod(0o755)
    return str(script)


def _lock(monkeypatch: pytest.MonkeyPatch, package: Package) -> None:
    monkeypatch.setattr(assets, "PACKAGES", (package,))
    monkeypatch.setattr(assets, "ASSETS", tuple(Asset(package, f) for f in package.files))


def _package(tarball: bytes, data: bytes = BUNDLE) -> Package:
    file = File("dist/thing.min.js", _digest("sha384", data), len(data))
    return Package("@scope/thing", "1.2.3", _digest("sha512", tarball), (file,))


def test_the_pinned_files_are_kept_and_fetched_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tarball = _tarball({"dist/thing.min.js": BUNDLE, "README.md": b"not wanted"})
    package = _package(tarball)
    _lock(monkeypatch, package)
    folder = tmp_path / "assets"
    assert install(folder, npm=_fake_npm(tmp_path, tarball, package.spec)) == ["@scope/thing@1.2.3"]
    assert (folder / "@scope/thing@1.2.3/dist/thing.min.js").read_bytes() == BUNDLE
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["thing.min.js"]
    assert missing(folder) == []
    # Complete: npm is not asked again.
    assert install(folder, npm=str(tmp_path / "no-npm-here")) == []


def test_a_tarball_other_than_the_locked_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tarball = _tarball({"dist/thing.min.js": BUNDLE})
    _lock(monkeypatch, _package(tarball))
    other = _tarball({"dist/thing.min.js": b"window.Thing = 'evil';\n"})
    folder = tmp_path / "assets"
    with pytest.raises(InstallError, match="tarball does not match its pinned sha512"):
        install(folder, npm=_fake_npm(tmp_path, other, "@scope/thing@1.2.3"))
    assert not folder.exists()


def test_a_file_other_than_the_locked_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tarball = _tarball({"dist/thing.min.js": b"window.Thing = 'changed';\n"})
    _lock(monkeypatch, _package(tarball, data=BUNDLE))  # the lock's file is BUNDLE
    folder = tmp_path / "assets"
    with pytest.raises(InstallError, match=r"dist/thing.min.js does not match its pinned sha384"):
        install(folder, npm=_fake_npm(tmp_path, tarball, "@scope/thing@1.2.3"))
    assert not list(folder.rglob("*.js"))


def test_npm_missing_or_failing_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tarball = _tarball({"dist/thing.min.js": BUNDLE})
    _lock(monkeypatch, _package(tarball))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(InstallError, match="npm was not found"):
        install(tmp_path / "assets")
    failing = _fake_npm(tmp_path, tarball, "@scope/thing@1.2.3", exit_code=1)
    with pytest.raises(InstallError, match="npm pack failed \\(1\\): npm error 404"):
        install(tmp_path / "assets", npm=failing)


def test_the_image_build_fetches_with_npm_on_path_and_fails_on_a_mismatch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `python3 -m api.graphiql.build FOLDER`, as the Dockerfile's Node stage runs it.
    from api.graphiql import build

    tarball = _tarball({"dist/thing.min.js": BUNDLE})
    _lock(monkeypatch, _package(tarball))
    other = tmp_path / "other"
    other.mkdir()
    _fake_npm(other, _tarball({"dist/thing.min.js": b"changed"}), "@scope/thing@1.2.3")
    monkeypatch.setenv("PATH", str(other))
    assert build.main([str(tmp_path / "refused")]) == 1
    assert "does not match its pinned sha512" in capsys.readouterr().err
    _fake_npm(tmp_path, tarball, "@scope/thing@1.2.3")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert build.main([str(tmp_path / "assets")]) == 0
    assert missing(tmp_path / "assets") == []
    assert build.main([]) == 2  # the folder is required


def test_the_lock_pins_every_file_by_sha384() -> None:
    for package in PACKAGES:
        assert package.integrity.startswith("sha512-")
        assert package.files
        for file in package.files:
            assert file.sri.startswith("sha384-")
            assert file.size > 0


def test_the_command_says_what_to_do_without_npm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from api.cli import main
    from api.cli.graphiql import ensure_graphiql
    from api.settings import Settings

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    folder = tmp_path / "assets"
    result = CliRunner().invoke(main, ["graphiql", "install", "--dir", str(folder)])
    assert result.exit_code == 1
    assert "npm was not found" in result.output
    assert "CAMPAIGN_GRAPHIQL_ASSETS_DIR" in result.output
    # `campaign up` only warns: the API starts all the same.
    ensure_graphiql(Settings(graphiql_assets_dir=folder))
