"""``GET /api/sync/changes?since=CURSOR``: what a client that keeps dashboards offline must
refetch, and what it must drop.

The answer lists the caller's dashboards (owned or shared with them) that changed since the
cursor, each with its head version and last change, the ids the caller lost (removed as a
collaborator, the dashboard deleted) since then, and the cursor for next time. Without a
cursor, everything the caller has. A long answer comes in pages (``has_more``: call again with
the new cursor at once); the pages of one pull end with a cursor that misses nothing committed
while they were read (see :mod:`server.store.changes` for why transaction ids, not clocks).

The cursor is opaque (base64url JSON): ``s`` the lower transaction id of this pull, ``x`` the
next pull's (the first page's snapshot xmin), ``a`` the last item of the previous page, ``t``
when the pull started. Removals are kept for :data:`RETENTION`; an older cursor is refused
(410 ``sync_cursor_expired``: pull without one and refetch).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, cast
from uuid import UUID

from pydantic import BaseModel, Field

from server.api.endpoint import Call, Endpoint
from server.api.models import Cursor, Request
from server.api.principal import acting
from server.api.roles import ApiRole
from server.core.errors import BadCursor, SyncCursorExpired
from server.store.changes import DEFAULT_RETENTION, Changed, changes, purge_removals
from server.store.cursor import decode_cursor, encode_cursor

RETENTION = DEFAULT_RETENTION
PURGE_EVERY = 600.0  # seconds between purges of old removals, per process
_last_purge = [0.0]


class ChangesQuery(Request):
    since: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=1000, description="page size")] = 500


class ChangedDashboard(BaseModel):
    id: UUID
    title: str
    role: ApiRole
    head_version: int
    last_changed_at: datetime
    is_archived: bool


class ChangesAnswer(BaseModel):
    changed: list[ChangedDashboard]
    removed: list[UUID]
    cursor: str
    has_more: bool


def _read(cursor: str | None) -> tuple[int, int | None, tuple[int, UUID] | None, float]:
    if cursor is None:
        return 0, None, None, time.time()
    value: Any = decode_cursor(cursor)
    try:
        since, floor, after, started = value["s"], value["x"], value["a"], value["t"]
        if after is not None:
            after = (int(after[0]), UUID(after[1]))
        checked = (int(since), None if floor is None else int(floor), after, float(started))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadCursor("the cursor is not one this server gave") from exc
    if time.time() - checked[3] > RETENTION.total_seconds():
        raise SyncCursorExpired(
            "the cursor is older than the changes kept: pull again without one and refetch"
        )
    return checked


def _item(c: Changed) -> ChangedDashboard:
    return ChangedDashboard(
        id=c.id,
        title=c.title,
        role=cast(ApiRole, c.role),
        head_version=c.head_version,
        last_changed_at=c.updated_at,
        is_archived=c.is_archived,
    )


async def pull(call: Call) -> ChangesAnswer:
    query = call.take("query", ChangesQuery)
    since, floor, after, started = _read(query.since)
    async with acting(call.api.pool, call.principal) as conn:
        page = await changes(conn, call.user.user_id, since=since, after=after, limit=query.limit)
    if time.monotonic() - _last_purge[0] > PURGE_EVERY:
        _last_purge[0] = time.monotonic()
        async with call.api.pool.acquire() as conn:
            await purge_removals(conn, RETENTION)
    next_floor = page.xmin if floor is None else floor
    if page.more:
        change, last = page.after()
        state = {"s": since, "x": next_floor, "a": [change, str(last)], "t": started}
    else:
        state = {"s": next_floor, "x": None, "a": None, "t": time.time()}
    return ChangesAnswer(
        changed=[_item(c) for c in page.changed],
        removed=list(page.removed),
        cursor=encode_cursor(state),
        has_more=page.more,
    )


ENDPOINTS = [
    Endpoint("GET", "/sync/changes", pull,
             "The caller's dashboards changed since the cursor, the ones lost, the next cursor",
             "sync", ChangesAnswer, query=ChangesQuery, errors=(BadCursor, SyncCursorExpired)),
]  # fmt: skip
