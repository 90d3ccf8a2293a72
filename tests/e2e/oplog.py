"""Reading a dashboard's log and rows straight from PostgreSQL, independently of the server."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg


async def _sql(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query, *args)
        return rows
    finally:
        await conn.close()


def sql(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_sql(database_url, query, *args))


@dataclass(frozen=True)
class LoggedOp:
    version: int
    src: str
    seq: int
    op: Any


def logged_ops(database_url: str, dashboard: str) -> list[LoggedOp]:
    """The dashboard's log straight from the operations table, in version order."""
    rows = sql(
        database_url,
        "SELECT version, src, seq, operation FROM operations WHERE dashboard_id = $1 ORDER BY version",
        uuid.UUID(dashboard),
    )
    return [
        LoggedOp(
            version=row["version"],
            src=row["src"],
            seq=row["seq"],
            op=json.loads(row["operation"])
            if isinstance(row["operation"], str)
            else row["operation"],
        )
        for row in rows
    ]
