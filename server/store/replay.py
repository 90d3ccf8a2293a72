"""Snapshots rebuilt from the log: a checkpoint (or nothing) brought forward op by op.

Used by :meth:`~server.store.postgres.PostgresStore.load` inside one connection; the ops are
read in chunks so a long history is never held in memory at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from server.core.errors import NotFound
from server.core.ids import DashboardId
from server.store import statements as sql
from server.store.history import (
    Progress,
    ReplayFailed,
    VersionUnavailable,
    as_json0,
    created_document,
    is_create_record,
    replay,
)

REPLAY_CHUNK = 2000


async def version_at(conn: asyncpg.Connection, dashboard_id: DashboardId, at: datetime) -> int:
    """The version a dashboard had at time ``at``: 0 before it existed; refused once the ops
    of that time are no longer kept."""
    found = await conn.fetchval(sql.VERSION_AT, dashboard_id, at)
    if found is not None:
        return int(found) + 1
    created = await conn.fetchval("SELECT created_at FROM dashboards WHERE id = $1", dashboard_id)
    if created is None:
        raise NotFound(f"dashboard {dashboard_id} not found")
    if at < created:
        return 0
    raise VersionUnavailable(f"history of dashboard {dashboard_id} at {at} is no longer kept")


async def replay_range(
    conn: asyncpg.Connection,
    dashboard_id: DashboardId,
    start: int,
    target: int,
    document: Any,
    progress: Progress | None,
) -> tuple[Any, datetime | None]:
    """``document`` at ``start`` (None when ``start`` is 0) brought to ``target`` by the log."""
    created_at: datetime | None = None
    version = start
    while version < target:
        end = min(version + REPLAY_CHUNK, target)
        rows = await conn.fetch(sql.OPS_FOR_REPLAY, dashboard_id, version, end)
        if len(rows) != end - version or (rows and rows[0]["version"] != version):
            if version == start and (not rows or rows[0]["version"] != version):
                raise VersionUnavailable(
                    f"version {target} of dashboard {dashboard_id} is no longer kept"
                )
            raise ReplayFailed(f"log of dashboard {dashboard_id} is damaged near {version}")
        ops = []
        for row in rows:
            if row["version"] == 0 and is_create_record(row["operation"]):
                document = created_document(row["operation"])
            else:
                ops.append(as_json0(row["operation"]))
        document = replay(document, ops, first_version=version)
        created_at = rows[-1]["created_at"]
        version = end
        if progress is not None:
            progress(version - start, target - start)
    return document, created_at
