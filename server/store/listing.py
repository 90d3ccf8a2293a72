"""The "user's dashboards" and "dashboard with widgets" queries of the HTTP API.

Both run on the connection the caller gives (an API transaction, under row-level security), so
they take ``conn``, not a pool. The list is keyset-paginated on ``(updated_at, id)``, newest
first; a search (``websearch_to_tsquery`` over ``search_vector``) is ranked and paginated by
offset, with a snippet whose hits are marked by two private-use characters (:data:`MARK_START`,
:data:`MARK_END`) that the caller turns into HTML after escaping the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.pool import translated

MARK_START = "\ue000"
MARK_END = "\ue001"

_MINE = """
WITH mine AS (
    SELECT id AS dashboard_id, 'owner'::text AS role FROM dashboards WHERE owner_id = $1
    UNION ALL
    SELECT dashboard_id, role FROM dashboard_collaborators WHERE user_id = $1
)
"""
_COLUMNS = """
       d.id, d.title, d.description, d.owner_id, u.username AS owner_username, m.role,
       (SELECT count(*) FROM dashboard_collaborators x WHERE x.dashboard_id = d.id)
           AS collaborator_count,
       d.head_version, d.is_archived, d.is_public, d.created_at, d.updated_at
"""
# The owned dashboards come in order from the (owner_id, updated_at) index, so only the first
# page of them is read; the shared ones are probed by id (OFFSET 0 keeps the planner from
# flattening the probe into a hash join over all rows: the row-level security policy makes its
# estimate of visible dashboards far too high), and only the page's rows are read whole.
LIST = f"""
WITH mine AS (
    (SELECT id AS dashboard_id, 'owner'::text AS role, updated_at FROM dashboards
      WHERE owner_id = $1 AND is_archived = $2
        AND ($3::timestamptz IS NULL OR (updated_at, id) < ($3, $4::uuid))
      ORDER BY updated_at DESC, id DESC LIMIT $5)
    UNION ALL
    (SELECT c.dashboard_id, c.role, x.updated_at FROM dashboard_collaborators c
      CROSS JOIN LATERAL (SELECT * FROM dashboards x WHERE x.id = c.dashboard_id OFFSET 0) x
      WHERE c.user_id = $1 AND x.is_archived = $2
        AND ($3::timestamptz IS NULL OR (x.updated_at, x.id) < ($3, $4::uuid))
      ORDER BY x.updated_at DESC, x.id DESC LIMIT $5)
), page AS (SELECT * FROM mine ORDER BY updated_at DESC, dashboard_id DESC LIMIT $5)
SELECT {_COLUMNS}, NULL::text AS snippet
  FROM page m
  CROSS JOIN LATERAL (SELECT * FROM dashboards x WHERE x.id = m.dashboard_id OFFSET 0) d
  JOIN users u ON u.id = d.owner_id
 ORDER BY d.updated_at DESC, d.id DESC
"""
_TEXT = "replace(replace(d.title || ' - ' || d.description, E'\\uE000', ''), E'\\uE001', '')"
SEARCH = f"""{_MINE}, query AS (SELECT websearch_to_tsquery('simple', $3) AS q)
SELECT {_COLUMNS},
       ts_headline('simple', {_TEXT}, query.q,
                   'StartSel=\ue000, StopSel=\ue001, MaxWords=24, MinWords=8, MaxFragments=2')
           AS snippet
  FROM mine m
  CROSS JOIN LATERAL (SELECT * FROM dashboards x WHERE x.id = m.dashboard_id OFFSET 0) d
  JOIN users u ON u.id = d.owner_id,
       query
 WHERE d.search_vector @@ query.q AND d.is_archived = $2
 ORDER BY ts_rank(d.search_vector, query.q) DESC, d.updated_at DESC, d.id DESC
 LIMIT $5 OFFSET $4
"""
ONE = f"""
SELECT {_COLUMNS}, NULL::text AS snippet
  FROM dashboards d JOIN users u ON u.id = d.owner_id
  LEFT JOIN LATERAL (
      SELECT CASE WHEN d.owner_id = $2 THEN 'owner' ELSE
             (SELECT c.role FROM dashboard_collaborators c
               WHERE c.dashboard_id = d.id AND c.user_id = $2) END AS role
  ) m ON true
 WHERE d.id = $1
"""


@dataclass(frozen=True)
class Listed:
    id: DashboardId
    title: str
    description: str
    owner_id: UserId
    owner_username: str
    role: str | None  # owner, admin, editor, viewer; None: visible without a role (public)
    collaborator_count: int
    head_version: int
    is_archived: bool
    is_public: bool
    created_at: datetime
    updated_at: datetime
    snippet: str | None


def _listed(r: Any) -> Listed:
    return Listed(
        DashboardId(r["id"]), r["title"], r["description"], UserId(r["owner_id"]),
        r["owner_username"], r["role"], int(r["collaborator_count"]), int(r["head_version"]),
        r["is_archived"], r["is_public"], r["created_at"], r["updated_at"], r["snippet"],
    )  # fmt: skip


async def list_dashboards(
    conn: Any,
    user: UserId,
    *,
    archived: bool,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[Listed]:
    """The user's dashboards (owned or shared), newest change first, after a keyset cursor."""
    with translated():
        rows = await conn.fetch(
            LIST,
            user,
            archived,
            None if after is None else after[0],
            None if after is None else after[1],
            limit,
        )
    return [_listed(r) for r in rows]


async def search_dashboards(
    conn: Any, user: UserId, text: str, *, archived: bool, limit: int, offset: int
) -> list[Listed]:
    """The user's dashboards matching a web-search style query, best match first."""
    check_jsonb(text)
    with translated():
        rows = await conn.fetch(SEARCH, user, archived, text, offset, limit)
    return [_listed(r) for r in rows]


async def get_listed(conn: Any, dashboard: DashboardId, user: UserId | None) -> Listed | None:
    """One dashboard's row with the caller's role; None when it is not visible."""
    with translated():
        row = await conn.fetchrow(ONE, dashboard, user)
    return None if row is None else _listed(row)


async def widgets(conn: Any, dashboard: DashboardId) -> list[dict[str, Any]]:
    """The dashboard's widget rows as plain values (``widget_id``, ``type``, ``title``,
    ``position``, ``config``, ``version``, ``updated_at``), ready to serialise."""
    with translated():
        rows = await conn.fetch(
            "SELECT widget_id, type, title, position, config, version, updated_at"
            " FROM widgets WHERE dashboard_id = $1 ORDER BY widget_id",
            dashboard,
        )
    return [dict(r) for r in rows]
