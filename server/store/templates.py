"""Dashboard templates: a dashboard's document kept for others to start from.

A template is made from a dashboard with its credentials redacted (the caller redacts; this
module stores what it is given), is private to its owner or public to everyone, and belongs to
a category. Listing shows the public ones and the caller's own, newest first, paginated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.core.errors import BadRequest, NotFound
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.model import Author
from server.store.pool import translated
from server.store.timeline import decode_cursor, encode_cursor

TemplateId = UUID
# Opens the connection a statement runs on: the API's acts as the caller, under row-level
# security (sql/0007_api_policies_later.sql); elsewhere one of the pool's.
Connect = Callable[[], contextlib.AbstractAsyncContextManager[Any]]
MAX_PAGE = 100
MAX_NAME = 200
MAX_CATEGORY = 64
MAX_DESCRIPTION = 2000

COLUMNS = """t.id, t.name, t.description, t.category, t.is_public, t.created_at,
             t.usage_count, t.owner_id, u.username"""

CREATE = f"""
WITH t AS (
    INSERT INTO dashboard_templates (owner_id, name, description, category, is_public,
                                     document, source_dashboard_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
 RETURNING *
)
SELECT {COLUMNS} FROM t JOIN users u ON u.id = t.owner_id
"""

# Public ones and the caller's own ($1), of one category ($2, NULL: all), newest first; the
# cursor is the row number already seen (templates are few; keyset needs no more).
LIST = f"""
SELECT {COLUMNS}
  FROM dashboard_templates t JOIN users u ON u.id = t.owner_id
 WHERE (t.is_public OR t.owner_id = $1) AND ($2::text IS NULL OR t.category = $2)
 ORDER BY t.created_at DESC, t.id
 LIMIT $3 OFFSET $4
"""


@dataclass(frozen=True)
class Template:
    id: TemplateId
    name: str
    description: str
    category: str
    is_public: bool
    owner: Author
    created_at: datetime
    usage_count: int


@dataclass(frozen=True)
class TemplatePage:
    items: tuple[Template, ...]
    next_cursor: str | None


def _template(row: asyncpg.Record) -> Template:
    return Template(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        category=row["category"],
        is_public=row["is_public"],
        owner=Author(UserId(row["owner_id"]), row["username"]),
        created_at=row["created_at"],
        usage_count=int(row["usage_count"]),
    )


def _text(value: str, name: str, low: int, high: int) -> str:
    text = value.strip()
    if not low <= len(text) <= high:
        raise BadRequest(f"a template's {name} has {low} to {high} characters")
    return text


class Templates:
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def create_template(
        self,
        *,
        owner_id: UserId,
        name: str,
        document: Any,
        description: str = "",
        category: str = "general",
        public: bool = False,
        source: DashboardId | None = None,
    ) -> Template:
        values = [
            _text(name, "name", 1, MAX_NAME),
            _text(description, "description", 0, MAX_DESCRIPTION),
            _text(category, "category", 1, MAX_CATEGORY),
        ]
        check_jsonb([values, document])
        with translated():
            async with self._connect() as conn:
                row = await conn.fetchrow(CREATE, owner_id, *values, public, document, source)
        return _template(row)

    async def list_templates(
        self,
        user_id: UserId,
        *,
        category: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> TemplatePage:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be 1..{MAX_PAGE}")
        offset = decode_cursor(cursor) if cursor is not None else 0
        check_jsonb(category)
        with translated():
            async with self._connect() as conn:
                rows = await conn.fetch(LIST, user_id, category, limit + 1, offset)
        items = tuple(_template(r) for r in rows[:limit])
        more = len(rows) > limit
        return TemplatePage(items, encode_cursor(offset + limit) if more else None)

    async def template_document(self, template_id: TemplateId, user_id: UserId) -> Any:
        """The document of a template the user may use (public or their own), counted as
        used. NotFound otherwise (never told apart from one that does not exist)."""
        with translated():
            async with self._connect() as conn:
                document = await conn.fetchval(
                    "UPDATE dashboard_templates SET usage_count = usage_count + 1"
                    " WHERE id = $1 AND (is_public OR owner_id = $2) RETURNING document",
                    template_id,
                    user_id,
                )
        if document is None:
            raise NotFound(f"template {template_id} not found")
        return document
