"""Reading a dashboard's log and rows straight from PostgreSQL, independently of the server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
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


def inserted_markers(op: Any) -> list[str]:
    """The markers an editing-scenario op inserted into ``widgets.log.data.marks``."""
    if not isinstance(op, list):
        return []
    return [
        c["li"]
        for c in op
        if isinstance(c.get("li"), str) and c["p"][:4] == ["widgets", "log", "data", "marks"]
    ]


def assert_acked_once(
    result: dict[str, Any], database_url: str, dashboard: str, expected: int
) -> dict[str, Any]:
    """An editing scenario's outcome: all ``expected`` ops acknowledged once and none rejected;
    every client holds the fresh document; the document and the log (versions gapless,
    ``(src, seq)`` unique) hold each acknowledged marker exactly once. Returns the fresh doc."""
    assert result["unacked_error"] is None and result["unacked"] == [], result["unacked_error"]
    assert result["rejected"] == [], result["rejected"][:5]
    assert result["converge_error"] is None, result["converge_error"]
    acked = result["acked"]
    assert len(acked) == len(set(acked)) == expected
    fresh: dict[str, Any] = result["fresh"]
    assert Counter(fresh["data"]["widgets"]["log"]["data"]["marks"]) == Counter(acked)
    for client in result["clients"]:
        assert client["data"] == fresh["data"], client["name"]
        assert client["v"] == fresh["v"], client["name"]
    log = assert_sound_log(database_url, dashboard, fresh["v"])
    assert Counter(m for op in log for m in inserted_markers(op.op)) == Counter(acked)
    return fresh
