"""``tandem serve``.

``serve`` starts the embedded PostgreSQL and Redis itself when ``DATABASE_URL`` / ``REDIS_URL``
are unset (so every worker shares them), migrates, and prints how to connect. With ``--demo``
it also makes sure a demo user (``demo``) and a demo dashboard exist, creating them only when
the database has no users at all, and prints a fresh token for that user.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from typing import Any, TypeVar
from uuid import UUID

import orjson

from ot.dashboard.document import new_document
from server.cli import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from server.cli.context import services
from server.core import log, metrics
from server.core.errors import StoreUnavailable, TandemError
from server.core.ids import UserId
from server.core.settings import Settings
from server.gateway.auth import issue_token
from server.store.accounts import Accounts
from server.store.audit import AuditLog
from server.store.catalog import Catalog
from server.store.migrate import migrate
from server.store.postgres import PostgresStore

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@tandem.invalid"
DEMO_TITLE = "Demo dashboard"

_T = TypeVar("_T")


# -- serve --------------------------------------------------------------------------------


async def _demo(settings: Settings) -> tuple[UserId, UUID, str] | None:
    """The demo user, its dashboard and a fresh token; None when the database belongs to
    real users (it has users, none of them the demo user)."""
    assert settings.database_url is not None
    store = await PostgresStore.open(settings.database_url, min_size=1, max_size=2)
    try:
        pool = store.pool
        accounts = Accounts(pool)
        user = await accounts.find_user(DEMO_USERNAME)
        if user is None:
            if await pool.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
                return None
            user_id = await accounts.create_user(DEMO_EMAIL, DEMO_USERNAME, display_name="Demo")
            await AuditLog(pool).write_audit("user.created", user_id, details={"via": "demo"})
        else:
            user_id = user.id
        mine = await Catalog(pool).dashboards_for(user_id, limit=1)
        if mine:
            dashboard_id: UUID = mine[0].id
        else:
            head = await store.create_dashboard(
                owner_id=user_id, title=DEMO_TITLE, document=new_document(DEMO_TITLE)
            )
            dashboard_id = head.dashboard_id
        token = await issue_token(accounts, user_id)
        return user_id, dashboard_id, token
    finally:
        await store.close()


def _url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"ws://{host}:{settings.port}/ws"


def _banner_data(settings: Settings, demo: tuple[UserId, UUID, str] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"url": _url(settings), "demo": None}
    if demo is not None:
        user_id, dashboard_id, token = demo
        data["demo"] = {"user": str(user_id), "token": token, "dashboard": str(dashboard_id)}
    return data


def _banner(settings: Settings, demo: tuple[UserId, UUID, str] | None, wanted: bool) -> str:
    url = _url(settings)
    lines = [f"Tandem is starting on {url}"]
    if demo is not None:
        user_id, dashboard_id, token = demo
        lines += [
            f"  demo user:      {DEMO_USERNAME} ({user_id})",
            f"  demo token:     {token}",
            f"  demo dashboard: {dashboard_id}",
            "Try it (type the two messages after connecting):",
            f"  {sys.executable} -m websockets {url}",
            f'  {{"a":"auth","token":"{token}"}}',
            f'  {{"a":"s","c":"dashboards","d":"{dashboard_id}"}}',
        ]
    elif wanted:
        lines.append("  (no demo: this database already has users)")
    else:
        lines += [
            "Create a user and a token to connect:",
            "  tandem user create --email you@example.com --username you",
            "  tandem token issue --user <user id>",
            'then send {"a":"auth","token":"<token>"} as the first message.',
        ]
    return "\n".join(lines)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import uvicorn_options

    base = Settings.from_env()
    base = dataclasses.replace(
        base,
        host=args.host or base.host,
        port=args.port if args.port is not None else base.port,
        workers=args.workers or base.workers,
    )
    if base.gateway_id is not None and base.workers > 1:
        # Every worker would claim the same id and take the others' batches for its own.
        print("tandem serve: TANDEM_GATEWAY_ID names one process; use --workers 1", file=sys.stderr)
        return EXIT_USAGE
    log.configure(fmt=base.log_format, level=base.log_level)
    # uvicorn re-raises the signal that stopped it once it has shut down; as an exception it
    # unwinds through here, so the embedded services this process started are stopped too.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        with contextlib.ExitStack() as stack:
            settings = stack.enter_context(services(base, redis=True))
            assert settings.database_url is not None and settings.redis_url is not None
            demo = asyncio.run(_prepare(settings, args.demo))
            if args.json:
                print(orjson.dumps(_banner_data(settings, demo)).decode(), flush=True)
            else:
                print(_banner(settings, demo, args.demo), flush=True)
            # Workers build their app from the environment: point them at these services.
            os.environ["DATABASE_URL"] = settings.database_url
            os.environ["REDIS_URL"] = settings.redis_url
            # and at the address given here (the public origin and the logs name it).
            os.environ["TANDEM_HOST"] = settings.host
            os.environ["TANDEM_PORT"] = str(settings.port)
            stack.enter_context(_metrics_dir(settings))
            uvicorn.run(
                "server.app:app_from_env",
                factory=True,
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                log_level=settings.log_level,
                **uvicorn_options(settings),
            )
    except (KeyboardInterrupt, _Stop):
        return EXIT_OK
    except TandemError as exc:
        print(f"tandem serve: {exc.message}", file=sys.stderr)
        return EXIT_UNAVAILABLE if isinstance(exc, StoreUnavailable) else EXIT_PROBLEM
    finally:
        signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


@contextlib.contextmanager
def _metrics_dir(settings: Settings) -> Iterator[None]:
    """Several workers keep their metrics in files (see :mod:`server.core.metrics`): a fresh
    directory for this server's, unless the environment names one already."""
    if settings.workers <= 1 or metrics.multiprocess_dir() is not None:
        yield
        return
    directory = settings.home.resolve() / "metrics" / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[metrics.MULTIPROCESS_ENV] = str(directory)
    try:
        yield
    finally:
        del os.environ[metrics.MULTIPROCESS_ENV]
        shutil.rmtree(directory, ignore_errors=True)


class _Stop(Exception):
    """SIGTERM, as an exception."""


def _stopped(signum: int, frame: object) -> None:
    raise _Stop()


async def _prepare(settings: Settings, demo: bool) -> tuple[UserId, UUID, str] | None:
    assert settings.database_url is not None
    await migrate(settings.database_url)
    return await _demo(settings) if demo else None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="serve the WebSocket gateway")
    p.add_argument("--host", help="interface to listen on (default TANDEM_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default TANDEM_PORT or 8000)")
    p.add_argument("--workers", type=int, help="worker processes (default TANDEM_WORKERS or 1)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="on an empty database create a demo user and dashboard; print a token for them",
    )
    p.add_argument("--json", action="store_true", help="print the connection details as JSON")
    p.set_defaults(handler=_serve)
