"""The ``campaign`` command. It parses arguments and calls into ``api``; the logic lives there.

One module per area registers its commands on the group defined in ``api.cli.base``.
"""

from api.cli import admin, graphiql, mirror, running  # noqa: F401  (registers the commands)
from api.cli.base import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
