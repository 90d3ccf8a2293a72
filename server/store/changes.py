"""What changed for a user since a cursor: the query behind ``GET /api/sync/changes``.

A user's dashboards are the ones they own or collaborate on. Each row keeps ``change_xid``, the
id of the transaction that last changed it (``sql/0004_sync.sql``), and a pull reads, in one
snapshot, the rows changed by transactions at or above the cursor's ``since``, and that
snapshot's ``xmin`` (the oldest transaction still running). ``xmin`` is the next pull's
``since``: a transaction still running at the read has an id at or above it, and so has every
later one, so nothing committed after the read is missed, in whatever order concurrent commits
finish. A dashboard may be reported twice (committed just before the read but with an id above
``xmin``); a client refetches it and finds nothing new.

A long list is paged by ``(change, id)`` (a first pull, everything the user has, by id); the
pages of one pull share the first page's ``xmin``, so a change committed while the client
pages is in the next pull.

Indexes: ``dashboards (owner_id, change_xid)`` for owned dashboards and
``dashboard_collaborators (user_id, change_xid)`` for new or changed memberships answer their
branches with range scans; the collaborated dashboards that changed come from whichever is
smaller, the dashboards changed since the cursor (``dashboards (change_xid)``) or the user's
memberships, as the planner estimates. A first pull reads ``dashboards (owner_id, id)`` and
``dashboard_collaborators (user_id, dashboard_id)`` in id order, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from server.core.ids import DashboardId, UserId
from server.store.pool import translated

DEFAULT_RETENTION = timedelta(days=30)

# $1 user, $2 since, $3/$4 the last (change, id) of the previous page (or -1 / nil), $5 limit.
CHANGED = """
WITH mine AS (
    SELECT d.id, 'owner'::text AS role, d.change_xid AS change
      FROM dashboards d
     WHERE d.owner_id = $1 AND d.change_xid >= $2
    UNION
    SELECT c.dashboard_id, c.role, greatest(d.change_xid, c.change_xid)
      FROM dashboard_collaborators c JOIN dashboards d ON d.id = c.dashboard_id
     WHERE c.user_id = $1 AND c.change_xid >= $2
    UNION
    SELECT c.dashboard_id, c.role, greatest(d.change_xid, c.change_xid)
      FROM dashboards d JOIN dashboard_collaborators c
           ON c.dashboard_id = d.id AND c.user_id = $1
     WHERE d.change_xid >= $2
)
SELECT m.id, m.role, m.change, d.title, d.head_version, d.updated_at, d.is_archived,
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin
  FROM mine m JOIN dashboards d ON d.id = m.id
 WHERE (m.change, m.id) > ($3, $4::uuid)
 ORDER BY m.change, m.id
 LIMIT $5
"""
# A first pull: everything the user has, by id. $1 user, $2 the previous page's last id (or
# nil), $3 limit.
EVERYTHING = """
SELECT m.id, m.role, greatest(d.change_xid, m.change) AS change, d.title, d.head_version,
       d.updated_at, d.is_archived, pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin
  FROM ((SELECT d.id, 'owner'::text AS role, 0::bigint AS change FROM dashboards d
          WHERE d.owner_id = $1 AND d.id > $2 ORDER BY d.id LIMIT $3)
        UNION ALL
        (SELECT c.dashboard_id, c.role, c.change_xid FROM dashboard_collaborators c
          WHERE c.user_id = $1 AND c.dashboard_id > $2 ORDER BY c.dashboard_id LIMIT $3)) m
  JOIN dashboards d ON d.id = m.id
 ORDER BY m.id
 LIMIT $3
"""
XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
# The dashboards the user lost since the cursor and has not got back.
REMOVED = """
SELECT r.dashboard_id
  FROM sync_removals r
 WHERE r.user_id = $1 AND r.change_xid >= $2
   AND NOT EXISTS (SELECT 1 FROM dashboards d WHERE d.id = r.dashboard_id AND d.owner_id = $1)
   AND NOT EXISTS (SELECT 1 FROM dashboard_collaborators c
                    WHERE c.dashboard_id = r.dashboard_id AND c.user_id = $1)
 GROUP BY r.dashboard_id
 ORDER BY r.dashboard_id
"""
NIL = UUID(int=0)


@dataclass(frozen=True)
class Changed:
    id: DashboardId
    role: str
    change: int
    title: str
    head_version: int
    updated_at: datetime
    is_archived: bool


@dataclass(frozen=True)
class ChangesPage:
    changed: list[Changed]
    removed: list[DashboardId]
    xmin: int  # this read's snapshot xmin: the next pull's ``since``
    more: bool  # a later page of this pull follows the last item

    def after(self) -> tuple[int, UUID]:
        """Where the next page of this pull starts."""
        last = self.changed[-1]
        return last.change, last.id


async def changes(
    conn: Any,
    user: UserId,
    *,
    since: int,
    after: tuple[int, UUID] | None,
    limit: int,
) -> ChangesPage:
    """One page of ``user``'s changes at or after ``since`` (and after ``after``, a previous
    page's :meth:`ChangesPage.after`); removals come with the first page of a pull that has a
    ``since``. ``since`` 0 is a first pull: everything, paged by id."""
    last_change, last_id = after if after is not None else (-1, NIL)
    with translated():
        if since <= 0:
            rows = await conn.fetch(EVERYTHING, user, last_id, limit + 1)
        else:
            rows = await conn.fetch(CHANGED, user, since, last_change, last_id, limit + 1)
        xmin = int(rows[0]["xmin"]) if rows else int(await conn.fetchval(XMIN))
        removed: list[DashboardId] = []
        if after is None and since > 0:
            removed = [
                DashboardId(r["dashboard_id"]) for r in await conn.fetch(REMOVED, user, since)
            ]
    changed = [
        Changed(
            id=DashboardId(r["id"]),
            role=str(r["role"]),
            change=int(r["change"]),
            title=str(r["title"]),
            head_version=int(r["head_version"]),
            updated_at=r["updated_at"],
            is_archived=bool(r["is_archived"]),
        )
        for r in rows[:limit]
    ]
    return ChangesPage(changed, removed, xmin, len(rows) > limit)


async def purge_removals(conn: Any, retention: timedelta = DEFAULT_RETENTION) -> int:
    """Forget removals older than ``retention`` (a cursor that old is refused)."""
    with translated():
        result = await conn.execute(
            "DELETE FROM sync_removals WHERE removed_at < now() - $1::interval", retention
        )
    return int(str(result).split()[-1])
