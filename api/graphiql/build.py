"""``python3 -m api.graphiql.build FOLDER``: GraphiQL's pinned assets fetched into FOLDER.

The image's Node stage runs it (Dockerfile): there is npm, and Python's standard library, but
nothing of the project installed, so this imports only ``assets`` and ``lock``. It is the fetch
``campaign graphiql install`` makes (``assets.install``: npm pack of the locked versions, each
tarball and file checked against the lock), and it fails unless every pinned file is there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from api.graphiql.assets import InstallError, install, missing


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m api.graphiql.build FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    try:
        fetched = install(folder)
    except InstallError as exc:
        print(f"GraphiQL's assets could not be fetched: {exc}", file=sys.stderr)
        return 1
    left = missing(folder)
    if left:
        print(f"still missing: {', '.join(asset.key for asset in left)}", file=sys.stderr)
        return 1
    print(f"GraphiQL's assets are in {folder} (fetched: {', '.join(fetched) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
