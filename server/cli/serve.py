"""``tandem serve`` and the account commands (user, token, dashboard)."""

from __future__ import annotations

import argparse

from server.cli import EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    print("tandem: the realtime gateway is not built yet")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="serve the WebSocket gateway and HTTP API")
    p.set_defaults(handler=_serve)
