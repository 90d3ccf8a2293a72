"""What changed between two versions: :func:`compare`.

The answer of ``GET /api/dashboards/{id}/diff``: the json0 op that turns the snapshot at
``from`` into the snapshot at ``to`` (:func:`ot.dashboard.diff.diff`; either may be the older),
and the per-widget summary a person reads (:func:`ot.dashboard.summary.summarise`), with who
changed each widget in between. Who changed what is read from the log without decoding every
op: ops that target one widget are grouped by (widget, user) in SQL, and only the ops that
touched several widgets or the dashboard itself are read whole, so two versions 10,000 ops
apart cost two snapshot loads (at once) and one index range scan. What changed is worked out
while that scan runs (:func:`ot.dashboard.summary.what_changed`); only who changed it waits for
it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ot.dashboard.diff import diff
from ot.dashboard.summary import DiffSummary, attribute, what_changed
from server.core.ids import DashboardId
from server.store.history import as_json0
from server.store.pool import translated
from server.store.postgres import PostgresStore

# Between $2 (inclusive) and $3 (exclusive): per (widget, user) the first version for ops with
# a target, and every op without one, whole; oldest first. One scan of the range: an op
# without a target is a group of its own (its version in the key), and the widget ids are
# grouped byte by byte (COLLATE "C": a sort by the locale's rules cost more than the scan).
AUTHORS = """
SELECT t.first, t.target_id, t.operation, t.user_id, u.username FROM (
    SELECT min(version) AS first, min(target_id) AS target_id,
           (array_agg(operation) FILTER (WHERE target_id IS NULL))[1] AS operation, user_id
      FROM operations
     WHERE dashboard_id = $1 AND version >= $2 AND version < $3
     GROUP BY target_id COLLATE "C", user_id, CASE WHEN target_id IS NULL THEN version END
) t LEFT JOIN users u ON u.id = t.user_id
 ORDER BY 1
"""


@dataclass(frozen=True)
class Comparison:
    from_version: int
    to_version: int
    op: list[dict[str, Any]]
    summary: DiffSummary


async def compare(
    store: PostgresStore, dashboard_id: DashboardId, from_version: int, to_version: int
) -> Comparison:
    """Raises VersionUnavailable / NotFound as loading either snapshot does."""
    low, high = sorted((from_version, to_version))
    # PostgreSQL groups the authors while this process loads and compares the two snapshots,
    # which load on two connections at once.
    authors = asyncio.ensure_future(_authors(store, dashboard_id, low, high))
    loads = [
        asyncio.ensure_future(store.load(dashboard_id, version=version))
        for version in (from_version, to_version)
    ]
    try:
        a, b = await asyncio.gather(*loads)
        op = diff(a.document, b.document)
        old = a.document if isinstance(a.document, dict) else {}
        new = b.document if isinstance(b.document, dict) else {}
        changes = what_changed(old, new)
    except BaseException:
        for task in (authors, *loads):
            task.cancel()
        await asyncio.gather(authors, *loads, return_exceptions=True)
        raise
    rows = await authors
    authored: list[tuple[Any, Any]] = []
    users: dict[Any, Any] = {None: None}  # one value per user: the summary compares them
    for row in rows:
        key = row["user_id"] if row["username"] is not None else None
        if key not in users:
            users[key] = {"id": str(key), "username": row["username"]}
        # A target's widget id stands for the ops that touched that widget alone.
        target = row["target_id"]
        change: Any = str(target) if target is not None else as_json0(row["operation"])
        authored.append((change, users[key]))
    return Comparison(from_version, to_version, op, attribute(changes, authored))


async def _authors(
    store: PostgresStore, dashboard_id: DashboardId, low: int, high: int
) -> list[Any]:
    with translated():
        rows: list[Any] = await store.pool.fetch(AUTHORS, dashboard_id, low, high)
    return rows
