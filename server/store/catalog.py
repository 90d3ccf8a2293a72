"""Dashboard metadata: the list a user sees, full-text search, archiving.

Title and description in the ``dashboards`` row follow the document (the commit that changes
them updates the row), so listing and search never read documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.core.errors import BadRequest, NotFound
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.access import check_role
from server.store.model import Role
from server.store.pool import translated

MAX_PAGE = 1000

LIST = r"""
SELECT d.id, d.title, d.owner_id, d.head_version, d.updated_at, d.is_archived,
       CASE WHEN d.owner_id = $1 THEN 'admin' ELSE c.role END AS role,
       (SELECT count(*) FROM dashboard_collaborators x WHERE x.dashboard_id = d.id)
           AS collaborator_count
  FROM dashboards d
  LEFT JOIN dashboard_collaborators c ON c.dashboard_id = d.id AND c.user_id = $1
 WHERE (d.owner_id = $1 OR c.user_id IS NOT NULL)
   AND (NOT d.is_archived OR $2)
   AND ($3::text IS NULL OR d.title ILIKE '%' || $3 || '%' ESCAPE '\')
   AND ($4::text IS NULL OR d.search_vector @@ websearch_to_tsquery('simple', $4))
 ORDER BY CASE WHEN $4::text IS NULL THEN 0
               ELSE ts_rank(d.search_vector, websearch_to_tsquery('simple', $4)) END DESC,
          d.updated_at DESC, d.id
 LIMIT $5 OFFSET $6
"""


@dataclass(frozen=True)
class DashboardSummary:
    id: DashboardId
    title: str
    owner_id: UserId
    head_version: int
    updated_at: datetime
    is_archived: bool
    role: Role
    collaborator_count: int


@dataclass(frozen=True)
class DashboardInfo:
    id: DashboardId
    owner_id: UserId
    title: str
    description: str
    is_archived: bool
    head_version: int
    created_at: datetime
    updated_at: datetime


def _like_literal(text: str) -> str:
    """``text`` matched literally inside ILIKE (its own % and _ are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Catalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def dashboards_for(
        self,
        user_id: UserId,
        *,
        title_contains: str | None = None,
        search: str | None = None,
        limit: int = 50,
        skip: int = 0,
        include_archived: bool = False,
    ) -> list[DashboardSummary]:
        """Dashboards the user owns or collaborates on, most recently changed first (best
        match first with ``search``, a web-search style full-text query)."""
        if not 1 <= limit <= MAX_PAGE or skip < 0:
            raise BadRequest(f"limit must be 1..{MAX_PAGE} and skip >= 0")
        check_jsonb([title_contains, search])
        with translated():
            rows = await self._pool.fetch(
                LIST,
                user_id,
                include_archived,
                None if title_contains is None else _like_literal(title_contains),
                search,
                limit,
                skip,
            )
        return [
            DashboardSummary(
                DashboardId(r["id"]),
                r["title"],
                UserId(r["owner_id"]),
                int(r["head_version"]),
                r["updated_at"],
                r["is_archived"],
                check_role(r["role"]),
                int(r["collaborator_count"]),
            )
            for r in rows
        ]

    async def get_dashboard(self, dashboard_id: DashboardId) -> DashboardInfo:
        with translated():
            r = await self._pool.fetchrow(
                "SELECT id, owner_id, title, description, is_archived, head_version,"
                " created_at, updated_at FROM dashboards WHERE id = $1",
                dashboard_id,
            )
        if r is None:
            raise NotFound(f"dashboard {dashboard_id} not found")
        return DashboardInfo(
            DashboardId(r["id"]), UserId(r["owner_id"]), r["title"], r["description"],
            r["is_archived"], int(r["head_version"]), r["created_at"], r["updated_at"],
        )  # fmt: skip

    async def set_archived(self, dashboard_id: DashboardId, archived: bool = True) -> None:
        with translated():
            status = await self._pool.execute(
                "UPDATE dashboards SET is_archived = $2, updated_at = now() WHERE id = $1",
                dashboard_id,
                archived,
            )
        if status == "UPDATE 0":
            raise NotFound(f"dashboard {dashboard_id} not found")
