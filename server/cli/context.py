"""What the ``tandem`` commands share: the services they run against, output, exit codes.

Commands use ``DATABASE_URL`` / ``REDIS_URL`` when set, else the embedded servers under
``TANDEM_HOME`` (the ones ``tandem serve`` uses; a running one is reused, not stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import orjson

from server.cli import exit_code
from server.core.errors import StoreUnavailable, TandemError
from server.core.settings import Settings
from server.embedded import EmbeddedPostgres, EmbeddedServices
from server.store.migrate import migrate

_T = TypeVar("_T")


@contextlib.contextmanager
def services(settings: Settings, *, redis: bool) -> Iterator[Settings]:
    """Settings whose URLs point at running services, starting embedded ones as needed (most
    account commands need PostgreSQL only)."""
    if not redis:
        if settings.database_url is not None:
            yield settings
            return
        postgres = EmbeddedPostgres(settings.home.resolve() / "pg")
        try:
            url = started(postgres.start)
            yield dataclasses.replace(settings, database_url=url)
        finally:
            postgres.stop()
        return
    if settings.database_url is not None and settings.redis_url is not None:
        yield settings
        return
    embedded = EmbeddedServices(
        root=settings.home, database_url=settings.database_url, redis_url=settings.redis_url
    )
    try:
        urls = started(embedded.start)
        yield dataclasses.replace(
            settings, database_url=urls.database_url, redis_url=urls.redis_url
        )
    finally:
        embedded.stop()


def started(start: Callable[[], _T]) -> _T:
    try:
        return start()
    except Exception as exc:  # the embedded servers report failures in many ways
        raise StoreUnavailable(f"embedded services did not start: {exc}") from exc


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(orjson.dumps(data).decode() if args.json else text)


def run(
    args: argparse.Namespace,
    work: Callable[[Settings], Coroutine[Any, Any, int]],
    *,
    redis: bool = False,
) -> int:
    """Run ``work`` against the database (migrated first) and map failures to exit codes."""
    try:
        with services(Settings.from_env(), redis=redis) as settings:
            return asyncio.run(_migrated(settings, work))
    except TandemError as exc:
        status = exit_code(exc)
        if args.json:
            print(orjson.dumps({"error": {"code": exc.code, "message": exc.message}}).decode())
        print(f"tandem: {exc.message}", file=sys.stderr)
        return status


async def _migrated(
    settings: Settings, work: Callable[[Settings], Coroutine[Any, Any, int]]
) -> int:
    assert settings.database_url is not None
    if settings.migrate_on_start:
        await migrate(settings.database_url)
    return await work(settings)
