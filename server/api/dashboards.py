"""Dashboards: list and search, create, get with widgets, patch, delete.

Every change to a document goes through the sequencer (:func:`server.sequencer.direct.submit_as`):
creating one submits the ShareDB ``create`` (the creator becomes the owner), and a new title or
description is a normal json0 op, so everyone editing sees it live and ``dashboards.title`` /
``search_vector`` follow from the commit. Archiving and publishing change metadata only.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Any, cast
from uuid import UUID

import orjson
from pydantic import BaseModel, Field

from ot.dashboard.document import MAX_DESCRIPTION, MAX_TITLE, new_document
from server.access.changes import AccessChange, announce
from server.api.endpoint import Call, Endpoint, Reply
from server.api.idempotency import Attempt, once
from server.api.models import DashboardParams, Limit, Page, PageQuery, Request, UserRef
from server.api.principal import acting
from server.api.roles import ApiRole, require
from server.core.codes import Code
from server.core.errors import BadCursor, Conflict, Forbidden, NotFound, TandemError
from server.core.ids import DashboardId
from server.core.oplog import Snapshot
from server.history.transfer import template_copy
from server.sequencer.direct import submit_as
from server.store.catalog import Catalog
from server.store.cursor import decode_cursor, encode_cursor
from server.store.idempotency import IdempotencyKeys
from server.store.listing import (
    MARK_END,
    MARK_START,
    Listed,
    list_dashboards,
    search_dashboards,
    widgets,
)
from server.store.templates import Templates

Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
# Dashboards created with an Idempotency-Key get an id derived from it (and the user).
IDEMPOTENT_IDS = uuid.UUID("6f1c3d2a-6a43-4c61-9d8e-3f7f4b8a2c10")


class ListQuery(PageQuery):
    q: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    archived: bool = False
    limit: Limit = 50


class Summary(BaseModel):
    id: UUID
    title: str
    description: str
    role: ApiRole
    owner: UserRef
    collaborator_count: int
    head_version: int
    is_archived: bool
    is_public: bool
    created_at: datetime
    updated_at: datetime
    snippet: str | None = None


class Widget(BaseModel):
    widget_id: str
    type: str | None
    title: str | None
    position: Any
    config: Any
    version: int
    updated_at: datetime


class Dashboard(Summary):
    document: dict[str, Any]
    widgets: list[Widget]


class Create(Request):
    title: Title
    description: Description = ""
    id: UUID | None = None
    template_id: UUID | None = None  # start from a template (fresh widget ids)


class Patch(Request):
    title: Title | None = None
    description: Description | None = None
    archived: bool | None = None
    public: bool | None = None


def snippet_html(marked: str | None) -> str | None:
    """Escape everything, then turn the search's hit markers into ``<mark>``."""
    if marked is None:
        return None
    escaped = html.escape(marked, quote=True)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def summary(listed: Listed, role: ApiRole) -> Summary:
    return Summary(
        id=listed.id,
        title=listed.title,
        description=listed.description,
        role=role,
        owner=UserRef(id=listed.owner_id, username=listed.owner_username),
        collaborator_count=listed.collaborator_count,
        head_version=listed.head_version,
        is_archived=listed.is_archived,
        is_public=listed.is_public,
        created_at=listed.created_at,
        updated_at=listed.updated_at,
        snippet=snippet_html(listed.snippet),
    )


def _keyset(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    value = decode_cursor(cursor)
    try:
        kind, at, ident = value
        if kind != "t":
            raise ValueError(kind)
        return datetime.fromisoformat(at), UUID(ident)
    except (TypeError, ValueError) as exc:
        raise BadCursor("the cursor is not one this server gave") from exc


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    value = decode_cursor(cursor)
    if not (isinstance(value, list) and len(value) == 2 and value[0] == "s"):
        raise BadCursor("the cursor is not one this server gave")
    offset = value[1]
    if not isinstance(offset, int) or not 0 <= offset <= 100_000:
        raise BadCursor("the cursor is not one this server gave")
    return offset


async def list_(call: Call) -> Page[Summary]:
    query = call.take("query", ListQuery)
    user = call.user.user_id
    async with acting(call.api.pool, call.principal) as conn:
        if query.q is None:
            rows = await list_dashboards(
                conn, user, archived=query.archived, limit=query.limit + 1,
                after=_keyset(query.cursor),
            )  # fmt: skip
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            last = rows[-1] if rows else None
            cursor = (
                encode_cursor(["t", last.updated_at.isoformat(), str(last.id)])
                if more and last is not None
                else None
            )
        else:
            offset = _offset(query.cursor)
            rows = await search_dashboards(
                conn, user, query.q, archived=query.archived, limit=query.limit + 1,
                offset=offset,
            )  # fmt: skip
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            cursor = encode_cursor(["s", offset + query.limit]) if more else None
    items = [summary(r, cast(ApiRole, r.role)) for r in rows]
    return Page[Summary](items=items, next_cursor=cursor)


async def _parts(
    call: Call, dashboard: DashboardId, at_least: ApiRole
) -> tuple[Summary, Snapshot, list[dict[str, Any]]]:
    async with acting(call.api.pool, call.principal) as conn:
        listed, role = await require(call, conn, dashboard, at_least)
        # The widget rows (under row-level security) and the snapshot (another connection)
        # are read at the same time.
        rows, snapshot = await asyncio.gather(
            widgets(conn, dashboard), call.api.hub.snapshot(dashboard)
        )
    return summary(listed, role), snapshot, rows


async def _dashboard(call: Call, dashboard: DashboardId, at_least: ApiRole = "viewer") -> Dashboard:
    base, snapshot, rows = await _parts(call, dashboard, at_least)
    # Built without validation: every value comes from the store, and validating a document
    # of hundreds of widgets field by field would cost more than the rest of the request.
    return Dashboard.model_construct(
        **{**dict(base), "head_version": snapshot.version},
        document=snapshot.document,
        widgets=[Widget.model_construct(**w) for w in rows],
    )


dashboard_view = _dashboard  # the answer other resources give for a dashboard they made


async def get(call: Call) -> Reply:
    """Serialised by orjson straight from the stored values (the :class:`Dashboard` shape, the
    same JSON pydantic writes): building hundreds of widget models cost more than the reads."""
    base, snapshot, rows = await _parts(
        call, DashboardId(call.take("params", DashboardParams).id), "viewer"
    )
    body = {**base.model_dump(mode="json"), "head_version": snapshot.version}
    body.update(document=snapshot.document, widgets=rows)
    return Reply(json=orjson.dumps(body, option=orjson.OPT_UTC_Z))


async def create(call: Call) -> Reply:
    """With an Idempotency-Key (:mod:`server.api.idempotency`) a retry creates nothing again
    and gets the first answer; without a client-chosen id, the id is derived from the key."""
    body = call.take("body", Create)
    user = call.user.user_id

    async def work(attempt: Attempt) -> tuple[Dashboard, int]:
        if body.id is not None:
            dashboard = DashboardId(body.id)
        elif attempt.key is not None:
            dashboard = DashboardId(uuid.uuid5(IDEMPOTENT_IDS, f"{user}:{attempt.key}"))
        else:
            dashboard = DashboardId(uuid.uuid4())
        document = new_document(body.title, body.description)
        if body.template_id is not None:
            document = await template_copy(
                Templates(partial(acting, call.api.pool, call.principal)), template_id=body.template_id, user_id=user,
                title=body.title, description=body.description,
            )  # fmt: skip
        try:
            await submit_as(
                call.api.hub, user, dashboard, version=0, create=document, src=attempt.src,
            )  # fmt: skip
        except TandemError as exc:
            if exc.code == Code.ALREADY_CREATED:
                raise Conflict(f"dashboard {dashboard} already exists") from exc
            raise
        await call.api.audit.write_audit("dashboard.created", user, dashboard, ip=call.ip)
        # The owner's other connections' live queries (``qs``) show it.
        await announce(call.api.redis, call.api.keys, AccessChange("role", str(user), dashboard))
        return await _dashboard(call, dashboard), 201

    return await once(call, IdempotencyKeys(call.api.pool), Dashboard, work)


async def patch(call: Call) -> Dashboard:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    body = call.take("body", Patch)
    principal = call.user
    api = call.api
    needs: ApiRole = "admin" if body.archived is not None or body.public is not None else "editor"
    async with acting(api.pool, principal) as conn:
        listed, _ = await require(call, conn, dashboard, needs)
        if body.archived is not None and body.archived != listed.is_archived:
            await Catalog(conn).set_archived(dashboard, body.archived)
        if body.public is not None and body.public != listed.is_public:
            await conn.execute(
                "UPDATE dashboards SET is_public = $2, updated_at = now() WHERE id = $1",
                dashboard,
                body.public,
            )
    if body.archived is not None and body.archived != listed.is_archived:
        action = "dashboard.archived" if body.archived else "dashboard.unarchived"
        await api.audit.write_audit(action, principal.user_id, dashboard, ip=call.ip)
        await announce(api.redis, api.keys, AccessChange("dashboard", str(dashboard), dashboard))
    if body.public is not None and body.public != listed.is_public:
        await api.audit.write_audit(
            "dashboard.visibility", principal.user_id, dashboard,
            details={"public": body.public}, ip=call.ip,
        )  # fmt: skip
        await announce(api.redis, api.keys, AccessChange("dashboard", str(dashboard), dashboard))
    op = []
    snapshot = await api.hub.snapshot(dashboard)
    document = snapshot.document
    for name, value in (("title", body.title), ("description", body.description)):
        if value is not None and document.get(name) != value:
            op.append({"p": [name], "od": document.get(name), "oi": value})
    if op:
        await submit_as(api.hub, principal.user_id, dashboard, version=snapshot.version, op=op)
    return await _dashboard(call, dashboard)


async def delete(call: Call) -> None:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    principal = call.user
    async with acting(call.api.pool, principal) as conn:
        await require(call, conn, dashboard, "owner")
        await conn.execute("DELETE FROM dashboards WHERE id = $1", dashboard)
    await call.api.audit.write_audit("dashboard.deleted", principal.user_id, dashboard, ip=call.ip)
    await announce(call.api.redis, call.api.keys, AccessChange("dashboard", str(dashboard)))


ENDPOINTS = [
    Endpoint("GET", "/dashboards", list_, "The caller's dashboards (q: full-text search)",
             "dashboards", Page[Summary], query=ListQuery, errors=(BadCursor,)),
    Endpoint("POST", "/dashboards", create, "Create a dashboard (the caller owns it)",
             "dashboards", Dashboard, 201, body=Create, errors=(Conflict,)),
    Endpoint("GET", "/dashboards/{id}", get, "A dashboard with its document and widgets",
             "dashboards", Dashboard, params=DashboardParams, auth="any", errors=(NotFound,)),
    Endpoint("PATCH", "/dashboards/{id}", patch,
             "Change title or description (an op through the sequencer), archive, publish",
             "dashboards", Dashboard, params=DashboardParams, body=Patch, auth="any",
             errors=(NotFound, Forbidden)),
    Endpoint("DELETE", "/dashboards/{id}", delete, "Delete a dashboard (owner only)",
             "dashboards", params=DashboardParams, errors=(NotFound, Forbidden)),
]  # fmt: skip
