"""Connections to PostgreSQL, and the one place asyncpg's errors become Tandem's.

Every connection decodes and encodes ``jsonb`` with orjson (binary format, no text round trip)
and runs in UTC, so timestamps and partition bounds read the same whatever the server's zone.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import orjson

from server.core import metrics
from server.core.errors import BadData, Conflict, NotFound, StoreUnavailable, TandemError

SERVER_SETTINGS = {"application_name": "tandem", "timezone": "UTC"}
JSONB_FORMAT_VERSION = b"\x01"
# The role API transactions run as, under row-level security (sql/0002_api.sql).
API_ROLE = "tandem_api"


def encode_jsonb(value: Any) -> bytes:
    return JSONB_FORMAT_VERSION + orjson.dumps(value)


def decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=encode_jsonb,
        decoder=decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn library errors into the server's error tree where they enter."""
    try:
        yield
    except TandemError:
        raise
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"already exists: {exc.detail or exc}") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise NotFound(f"refers to something that does not exist: {exc.detail or exc}") from exc
    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        raise BadData(str(exc)) from exc
    except (
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,
        asyncpg.exceptions.InsufficientResourcesError,
        asyncpg.InterfaceError,
        OSError,
        TimeoutError,
    ) as exc:
        metrics.POSTGRES_ERRORS.inc()
        raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Reset nothing when a connection goes back to the pool (asyncpg has already rolled back
    a transaction left open). Nothing run through a pool changes session state (no LISTEN, no
    session-level SET or advisory lock: those live on the one-off connections below), so the
    default reset would only cost a round trip on every release."""


async def open_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, command_timeout: float | None = 60.0
) -> asyncpg.Pool:
    with translated():
        pool: asyncpg.Pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init_connection,
            reset=_keep_session,
            server_settings=SERVER_SETTINGS,
            command_timeout=command_timeout,
        )
    return pool


@contextlib.asynccontextmanager
async def connection(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection outside any pool, for migrations and maintenance."""
    with translated():
        conn: asyncpg.Connection = await asyncpg.connect(dsn, server_settings=SERVER_SETTINGS)
    try:
        with translated():
            await init_connection(conn)
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
