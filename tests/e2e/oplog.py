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


def assert_sound_log(database_url: str, dashboard: str, head: int) -> list[LoggedOp]:
    """The log holds versions 0 (the creation) to ``head - 1`` exactly once each, no two ops
    share a ``(src, seq)``, and the dashboard row's head is ``head``. Returns the log."""
    ops = logged_ops(database_url, dashboard)
    assert [op.version for op in ops] == list(range(head))
    keys = [(op.src, op.seq) for op in ops]
    assert len(keys) == len(set(keys))
    [row] = sql(
        database_url, "SELECT head_version FROM dashboards WHERE id = $1", uuid.UUID(dashboard)
    )
    assert row["head_version"] == head
    return ops
