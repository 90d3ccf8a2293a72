"""Export, import and templates over HTTP.

``GET /dashboards/{id}/export`` (editor or above) answers the export file, credentials
redacted, ``redacted`` saying how many; ``POST /dashboards/import`` validates a file whole and
creates a new dashboard owned by the caller, or nothing (422 ``import_invalid`` with the JSON
path of the first problem); ``POST /templates`` makes a template of a dashboard (redacted as for
export), ``GET /templates`` lists the public ones and the caller's own. A template is used with
``POST /dashboards {template_id}`` (:mod:`server.api.dashboards`).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, RootModel

from ot.dashboard.export import MAX_IMPORT_BYTES
from server.api.dashboards import Dashboard, dashboard_view
from server.api.endpoint import Call, Endpoint, Reply
from server.api.history import authorised, store_of
from server.api.models import Cursor, DashboardParams, Limit, Page, Request, UserRef
from server.api.principal import acting
from server.api.problem import json_path
from server.core.errors import Forbidden, NotFound
from server.core.ids import DashboardId
from server.history.transfer import (
    ImportRefused,
    create_template,
    export_dashboard,
    import_dashboard,
)
from server.store.templates import MAX_CATEGORY, MAX_DESCRIPTION, MAX_NAME, Template, Templates


class ExportVersion(BaseModel):
    version: int
    label: str


class ExportedDashboard(BaseModel):
    title: str
    description: str
    document: dict[str, Any]
    versions: list[ExportVersion]


class ExportFile(BaseModel):
    format: str
    format_version: int
    exported_at: str
    dashboard: ExportedDashboard
    redacted: int


class ImportBody(RootModel[dict[str, Any]]):
    """An export file; checked whole by the import itself, unknown fields dropped."""


class ImportOut(BaseModel):
    dashboard: Dashboard
    dropped_fields: list[str]


class TemplateBody(Request):
    dashboard_id: UUID
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] = ""
    category: Annotated[str, Field(min_length=1, max_length=MAX_CATEGORY)] = "general"
    public: bool = False


class TemplateOut(BaseModel):
    id: UUID
    name: str
    description: str
    category: str
    is_public: bool
    owner: UserRef
    redacted: int | None = None


class TemplateQuery(Request):
    category: Annotated[str, Field(min_length=1, max_length=MAX_CATEGORY)] | None = None
    limit: Limit = 50
    cursor: Cursor | None = None


async def export(call: Call) -> ExportFile:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    await authorised(call, dashboard, "editor")
    file = await export_dashboard(store_of(call), dashboard)
    await call.api.audit.write_audit("dashboard.exported", call.user.user_id, dashboard,
                                     {"redacted": file["redacted"]}, ip=call.ip)  # fmt: skip
    return ExportFile.model_validate(file)


async def import_(call: Call) -> Reply:
    body = call.take("body", ImportBody)
    user = call.user.user_id
    result = await import_dashboard(store_of(call), body.root, owner_id=user)
    await call.api.audit.write_audit("dashboard.imported", user, result.dashboard_id,
                                     {"dropped": len(result.dropped)}, ip=call.ip)  # fmt: skip
    view = await dashboard_view(call, result.dashboard_id)
    dropped = [json_path("body", path) for path in result.dropped]
    return Reply(ImportOut(dashboard=view, dropped_fields=dropped), 201)


def _template_out(t: Template, redacted: int | None = None) -> TemplateOut:
    return TemplateOut(id=t.id, name=t.name, description=t.description, category=t.category,
                       is_public=t.is_public, owner=UserRef(id=t.owner.id, username=t.owner.username),
                       redacted=redacted)  # fmt: skip


async def new_template(call: Call) -> Reply:
    body = call.take("body", TemplateBody)
    dashboard = DashboardId(body.dashboard_id)
    await authorised(call, dashboard, "editor")
    template, count = await create_template(
        store_of(call), Templates(partial(acting, call.api.pool, call.principal)), dashboard_id=dashboard,
        owner_id=call.user.user_id, name=body.name, description=body.description,
        category=body.category, public=body.public,
    )  # fmt: skip
    return Reply(_template_out(template, count), 201)


async def list_templates(call: Call) -> Page[TemplateOut]:
    query = call.take("query", TemplateQuery)
    page = await Templates(partial(acting, call.api.pool, call.principal)).list_templates(
        call.user.user_id, category=query.category, cursor=query.cursor, limit=query.limit
    )
    return Page[TemplateOut](items=[_template_out(t) for t in page.items],
                             next_cursor=page.next_cursor)  # fmt: skip


ENDPOINTS = [
    Endpoint("GET", "/dashboards/{id}/export", export,
             "The dashboard as a file, credentials redacted", "history", ExportFile,
             params=DashboardParams, auth="any", errors=(NotFound, Forbidden)),
    Endpoint("POST", "/dashboards/import", import_,
             "A new dashboard from an export file, checked whole, or nothing", "history",
             ImportOut, 201, body=ImportBody, max_body=MAX_IMPORT_BYTES,
             errors=(ImportRefused,)),
    Endpoint("POST", "/templates", new_template,
             "A template of a dashboard (credentials redacted)", "templates", TemplateOut, 201,
             body=TemplateBody, errors=(NotFound, Forbidden)),
    Endpoint("GET", "/templates", list_templates,
             "Public templates and the caller's own, newest first", "templates",
             Page[TemplateOut], query=TemplateQuery),
]  # fmt: skip
