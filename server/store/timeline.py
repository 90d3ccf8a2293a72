"""The log as people read it: ops since a version, and one widget's history, page by page.

Each entry says who made the op (id and username, None for the server or a deleted user),
when, what kind of op it is (``operation_type``) and which widget it targets. The ops page
walks forward by version (``next_since``); widget history walks backward, newest first, with
an opaque cursor, over every op that touched the widget (alone or with others). Both are index
scans (``operations_dashboard_version_idx``; ``operations_dashboard_target_idx`` and the GIN
``operations_dashboard_targets_idx`` for ops of several widgets), so a page costs the same at
version 10 and 100,000.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.core.errors import BadRequest, NotFound
from server.core.ids import DashboardId, UserId
from server.store.history import VersionUnavailable, as_json0
from server.store.model import Author
from server.store.pool import translated

MAX_PAGE = 100

# The head, the first retained version, and up to $3 ops from $2 on, in one snapshot.
OPS_PAGE = """
SELECT d.head_version,
       (SELECT min(version) FROM operations f WHERE f.dashboard_id = d.id) AS first_version,
       o.version, o.operation, o.operation_type, o.target_id, o.created_at, o.user_id,
       u.username
  FROM dashboards d
  LEFT JOIN LATERAL (
        SELECT version, operation, operation_type, target_id, created_at, user_id
          FROM operations
         WHERE dashboard_id = d.id AND version >= $2
         ORDER BY version LIMIT $3) o ON true
  LEFT JOIN users u ON u.id = o.user_id
 WHERE d.id = $1
 ORDER BY o.version
"""

# The ops whose one target is the widget, and those without one whose target_ids hold it
# (sql/0008_widget_targets.sql): each part an index scan stopped at the page's size, merged.
WIDGET_PAGE = """
SELECT o.version, o.operation_type, o.created_at, o.user_id, u.username
  FROM ((SELECT version, operation_type, created_at, user_id FROM operations
          WHERE dashboard_id = $1 AND target_id = $2 AND ($3::bigint IS NULL OR version < $3)
          ORDER BY version DESC LIMIT $4)
        UNION ALL
        (SELECT version, operation_type, created_at, user_id FROM operations
          WHERE dashboard_id = $1 AND target_id IS NULL AND target_ids <> '{}'
            AND target_ids @> ARRAY[$2::text] AND ($3::bigint IS NULL OR version < $3)
          ORDER BY version DESC LIMIT $4)) o
  LEFT JOIN users u ON u.id = o.user_id
 ORDER BY o.version DESC
 LIMIT $4
"""


@dataclass(frozen=True)
class LoggedOp:
    version: int
    op: Any  # json0 (a create is the op that sets the whole document)
    operation_type: str
    target_id: str | None
    user: Author | None
    created_at: datetime


@dataclass(frozen=True)
class OpsPage:
    items: tuple[LoggedOp, ...]
    next_since: int | None  # None: the page reached the head


@dataclass(frozen=True)
class WidgetChange:
    version: int
    operation_type: str
    user: Author | None
    created_at: datetime


@dataclass(frozen=True)
class WidgetPage:
    items: tuple[WidgetChange, ...]
    next_cursor: str | None


def _author(row: asyncpg.Record) -> Author | None:
    if row["user_id"] is None or row["username"] is None:
        return None
    return Author(UserId(row["user_id"]), str(row["username"]))


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be 1..{MAX_PAGE}")


def encode_cursor(version: int) -> str:
    return base64.urlsafe_b64encode(f"v{version}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("the cursor is not one this server gave out") from exc
    if not text.startswith("v") or not text[1:].isdigit() or len(text) > 20:
        raise BadRequest("the cursor is not one this server gave out")
    return int(text[1:])


class Timeline:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def ops_since(self, dashboard_id: DashboardId, since: int, limit: int = 50) -> OpsPage:
        """Up to ``limit`` ops from version ``since`` on. VersionUnavailable when ``since`` is
        below the retained log; BadRequest beyond the head."""
        _check_limit(limit)
        if since < 0:
            raise BadRequest("since is a version, 0 or more")
        with translated():
            rows = await self._pool.fetch(OPS_PAGE, dashboard_id, since, limit)
        if not rows:
            raise NotFound(f"dashboard {dashboard_id} not found")
        head = int(rows[0]["head_version"])
        first = rows[0]["first_version"]
        if since > head:
            raise BadRequest(f"since {since} is beyond the head {head}")
        if since < head and (first is None or since < int(first)):
            raise VersionUnavailable(f"ops from version {since} are no longer kept")
        items = tuple(
            LoggedOp(
                version=int(r["version"]),
                op=as_json0(r["operation"]),
                operation_type=str(r["operation_type"]),
                target_id=r["target_id"],
                user=_author(r),
                created_at=r["created_at"],
            )
            for r in rows
            if r["version"] is not None
        )
        last = items[-1].version + 1 if items else since
        return OpsPage(items, last if last < head else None)

    async def widget_history(
        self,
        dashboard_id: DashboardId,
        widget_id: str,
        *,
        cursor: str | None = None,
        limit: int = 50,
    ) -> WidgetPage:
        """The ops that touched ``widget_id``, newest first, including those that touched
        several widgets at once (a restore, a multi-widget edit)."""
        _check_limit(limit)
        before = decode_cursor(cursor) if cursor is not None else None
        with translated():
            rows = await self._pool.fetch(WIDGET_PAGE, dashboard_id, widget_id, before, limit + 1)
        items = tuple(
            WidgetChange(int(r["version"]), str(r["operation_type"]), _author(r), r["created_at"])
            for r in rows[:limit]
        )
        more = len(rows) > limit
        return WidgetPage(items, encode_cursor(items[-1].version) if more else None)
