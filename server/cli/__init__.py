"""The ``tandem`` command line.

Each submodule registers its subcommands; every command takes ``--json`` for machine-readable
output. Exit codes: 0 success, 1 the check or operation found a problem, 2 usage error,
3 a needed service (PostgreSQL, Redis) is unavailable, 4 not found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from uuid import UUID

import orjson

from server.core.errors import BadRequest, NotFound, StoreUnavailable, TandemError
from server.core.ids import DashboardId, UserId
from server.core.settings import InvalidSetting, Settings

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4

Handler = Callable[[argparse.Namespace], int]

# Most specific first: the first class an error is an instance of gives its exit code.
_EXIT_CODES: tuple[tuple[type[TandemError], int], ...] = (
    (StoreUnavailable, EXIT_UNAVAILABLE),
    (NotFound, EXIT_NOT_FOUND),
    (BadRequest, EXIT_USAGE),
    (TandemError, EXIT_PROBLEM),
)


def exit_code(exc: TandemError) -> int:
    """The documented exit code for a failure of a command."""
    return next(status for kind, status in _EXIT_CODES if isinstance(exc, kind))


def _uuid(text: str, what: str) -> UUID:
    try:
        return UUID(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {what} id (a UUID)") from exc


def parse_dashboard_id(text: str) -> DashboardId:
    """argparse type for a dashboard id."""
    return DashboardId(_uuid(text, "dashboard"))


def parse_user_id(text: str) -> UserId:
    """argparse type for a user id."""
    return UserId(_uuid(text, "user"))


def build_parser() -> argparse.ArgumentParser:
    from server.cli import accounts, admin, history, serve

    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: real-time collaborative dashboard backend"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (serve, accounts, admin, history):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        Settings.from_env()  # a bad setting is refused before any service starts
    except InvalidSetting as exc:
        if getattr(args, "json", False):
            print(orjson.dumps({"error": {"code": exc.code, "message": exc.message}}).decode())
        print(f"tandem: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
