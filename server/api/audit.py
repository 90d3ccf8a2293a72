"""A dashboard's audit trail for its admins and owner: role changes, share-link creation,
redemption and revocation, archive and delete, and whatever else names the dashboard. Newest
first, keyset-paginated on ``(at, id)``. Details never hold a token or a password: the writers
put none there."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from server.api.endpoint import Call, Endpoint
from server.api.models import DashboardParams, Page, PageQuery, UserRef
from server.api.principal import acting
from server.api.roles import require
from server.core.errors import BadCursor, Forbidden, NotFound
from server.core.ids import DashboardId
from server.store.cursor import decode_cursor, encode_cursor
from server.store.pool import translated

ENTRIES = """
SELECT a.id, a.at, a.action, a.user_id, u.username, a.details
  FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
 WHERE a.dashboard_id = $1
   AND ($2::timestamptz IS NULL OR (a.at, a.id) < ($2, $3::bigint))
 ORDER BY a.at DESC, a.id DESC
 LIMIT $4
"""


class Entry(BaseModel):
    id: int
    action: str
    actor: UserRef | None
    created_at: datetime
    details: dict[str, Any]


def _after(cursor: str | None) -> tuple[datetime | None, int | None]:
    if cursor is None:
        return None, None
    value = decode_cursor(cursor)
    try:
        kind, at, ident = value
        if kind != "a" or not isinstance(ident, int):
            raise ValueError(kind)
        return datetime.fromisoformat(at), ident
    except (TypeError, ValueError) as exc:
        raise BadCursor("the cursor is not one this server gave") from exc


def _entry(r: Any) -> Entry:
    actor = None
    if r["user_id"] is not None and r["username"] is not None:
        actor = UserRef(id=UUID(str(r["user_id"])), username=r["username"])
    return Entry(
        id=r["id"], action=r["action"], actor=actor, created_at=r["at"], details=r["details"]
    )


async def list_(call: Call) -> Page[Entry]:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    query = call.take("query", PageQuery)
    at, ident = _after(query.cursor)
    async with acting(call.api.pool, call.principal) as conn:
        await require(call, conn, dashboard, "admin")
        with translated():
            rows = await conn.fetch(ENTRIES, dashboard, at, ident, query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = None
    if more and rows:
        cursor = encode_cursor(["a", rows[-1]["at"].isoformat(), rows[-1]["id"]])
    return Page[Entry](items=[_entry(r) for r in rows], next_cursor=cursor)


ENDPOINTS = [
    Endpoint("GET", "/dashboards/{id}/audit", list_, "The dashboard's audit trail (admin, owner)",
             "audit", Page[Entry], params=DashboardParams, query=PageQuery,
             errors=(NotFound, Forbidden, BadCursor)),
]  # fmt: skip
