"""GraphiQL's assets on disk: which are there, and fetching the missing ones with npm.

The folder holds each pinned file (``lock.PACKAGES``) at ``NAME@VERSION/PATH``, which is also
its URL under ``STATIC_PATH``: a new version is a new URL, so browsers may cache them forever.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from api.graphiql.lock import PACKAGES, File, Package

STATIC_PATH = "/graphiql/static"


@dataclass(frozen=True)
class Asset:
    package: Package
    file: File

    @property
    def key(self) -> str:
        """Where it lives in the folder, and its URL below ``STATIC_PATH``."""
        return f"{self.package.spec}/{self.file.path}"

    @property
    def url(self) -> str:
        return f"{STATIC_PATH}/{self.key}"


ASSETS: tuple[Asset, ...] = tuple(Asset(p, f) for p in PACKAGES for f in p.files)
_BY_KEY = {asset.key: asset for asset in ASSETS}


def _present(folder: Path, asset: Asset) -> bool:
    # The size is checked, not the hash: files are written whole (renamed into place) after
    # their hash was checked, and the page's integrity attributes make the browser check it.
    try:
        return (folder / asset.key).stat().st_size == asset.file.size
    except OSError:
        return False


def missing(folder: Path) -> list[Asset]:
    return [asset for asset in ASSETS if not _present(folder, asset)]


def find(folder: Path, key: str) -> Path | None:
    """The file for ``key`` if it is one of the pinned assets and is in ``folder``."""
    asset = _BY_KEY.get(key)
    return folder / asset.key if asset is not None and _present(folder, asset) else None


class InstallError(Exception):
    pass


def _check(data: bytes, expected: str, what: str) -> None:
    algorithm, _, digest = expected.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != digest:
        raise InstallError(f"{what} does not match its pinned {algorithm} ({expected})")


def install(folder: Path, *, npm: str | None = None, timeout: float = 300) -> list[str]:
    """Fetch the packages that have files missing from ``folder`` and keep their pinned files.

    npm fetches the tarballs (``npm pack``, so the user's registry, proxy and cache settings
    apply and no dependency tree is installed); each tarball and each file taken from it is
    checked against the lock before it is written. Returns the packages fetched.
    """
    import tarfile  # here: the API's processes serve the assets and never unpack them

    wanted = {asset.package for asset in missing(folder)}
    todo = [package for package in PACKAGES if package in wanted]
    if not todo:
        return []
    npm = npm or shutil.which("npm")
    if npm is None:
        raise InstallError("npm was not found on PATH (it comes with Node.js)")
    with tempfile.TemporaryDirectory(prefix="graphiql-") as tmp:
        command = [npm, "pack", "--json", "--ignore-scripts", "--prefer-offline"]
        command += ["--loglevel=error", "--pack-destination", tmp]
        try:
            done = subprocess.run(
                [*command, *(package.spec for package in todo)],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InstallError(f"npm pack did not finish: {exc}") from exc
        if done.returncode != 0:
            raise InstallError(f"npm pack failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        try:
            packed = {entry["id"]: entry["filename"] for entry in json.loads(done.stdout)}
        except (ValueError, KeyError, TypeError) as exc:
            raise InstallError(f"npm pack printed no JSON list: {done.stdout[:200]!r}") from exc
        for package in todo:
            if package.spec not in packed:
                raise InstallError(f"npm pack did not fetch {package.spec}")
            try:
                _extract(Path(tmp) / packed[package.spec], package, folder)
            except (OSError, tarfile.TarError) as exc:
                raise InstallError(f"{package.spec} could not be unpacked: {exc}") from exc
    return [package.spec for package in todo]


def _extract(tarball: Path, package: Package, folder: Path) -> None:
    import tarfile

    _check(tarball.read_bytes(), package.integrity, f"{package.spec}'s tarball")
    with tarfile.open(tarball, "r:gz") as tar:
        for file in package.files:
            try:
                member = tar.extractfile(f"package/{file.path}")
            except KeyError:
                member = None
            if member is None:
                raise InstallError(f"{package.spec} has no file {file.path}")
            data = member.read()
            _check(data, file.sri, f"{package.spec}/{file.path}")
            target = folder / package.spec / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(f"{target.name}.{os.getpid()}.part")
            part.write_bytes(data)
            part.replace(target)  # whole or not at all, also for a server reading meanwhile
