"""The ``tandem`` command line.

Each submodule registers its subcommands; every command takes ``--json`` for machine-readable
output. Exit codes: 0 success, 1 the check or operation found a problem, 2 usage error,
3 a needed service (PostgreSQL, Redis) is unavailable, 4 not found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    from server.cli import admin, serve

    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: real-time collaborative dashboard backend"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (serve, admin):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
