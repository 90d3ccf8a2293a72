"""History endpoints: named versions, snapshots, the ops log, diff, widget history.

Reading history needs the viewer role (guests included); naming, renaming and unnaming a version
needs editor. The store does the work (:mod:`server.store.versions`, :mod:`server.store.timeline`,
:mod:`server.history.compare`); these handlers authorise, translate and shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from server.api.endpoint import Auth, Call, Endpoint, Reply
from server.api.models import Cursor, DashboardParams, Limit, Page, Request, UserRef
from server.api.principal import acting
from server.api.roles import ApiRole, require
from server.core.errors import BadRequest, Forbidden, NotFound
from server.core.ids import DashboardId
from server.history.compare import compare
from server.store.history import VersionUnavailable
from server.store.model import Author
from server.store.postgres import PostgresStore
from server.store.timeline import Timeline
from server.store.versions import MAX_LABEL, NamedVersion, VersionNamed, Versions

Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]
VersionNumber = Annotated[int, Field(ge=0, le=2**53 - 1)]


class VersionOut(BaseModel):
    version: int
    label: str
    created_by: UserRef | None
    created_at: datetime


class NameVersion(Request):
    label: Label
    version: Annotated[int, Field(ge=1, le=2**53 - 1)] | None = None


class Rename(Request):
    label: Label


class VersionParams(Request):
    id: UUID
    version: VersionNumber


class SnapshotQuery(Request):
    version: VersionNumber | None = None
    at: datetime | None = None


class SnapshotOut(BaseModel):
    version: int
    document: Any


class OpsQuery(Request):
    since: VersionNumber = 0
    limit: Limit = 50


class LoggedOpOut(BaseModel):
    version: int
    op: Any
    operation_type: str
    target_id: str | None
    user: UserRef | None
    created_at: datetime


class OpsOut(BaseModel):
    items: list[LoggedOpOut]
    next_since: int | None


class DiffQuery(Request):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: VersionNumber = Field(alias="from")
    to: VersionNumber


class WidgetDiff(BaseModel):
    widget_id: str
    title: str
    changes: list[str]
    users: list[UserRef]


class DashboardDiff(BaseModel):
    changes: list[str]
    users: list[UserRef]


class DiffOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    from_: int = Field(serialization_alias="from")
    to: int
    op: Any
    widgets: list[WidgetDiff]
    dashboard: DashboardDiff


class WidgetParams(Request):
    id: UUID
    wid: Annotated[str, Field(min_length=1, max_length=64)]


class WidgetQuery(Request):
    limit: Limit = 50
    cursor: Cursor | None = None


class WidgetChangeOut(BaseModel):
    version: int
    operation_type: str
    user: UserRef | None
    created_at: datetime


def store_of(call: Call) -> PostgresStore:
    store: PostgresStore = call.api.store
    return store


def user_ref(author: Author | None) -> UserRef | None:
    return None if author is None else UserRef(id=author.id, username=author.username)


async def authorised(call: Call, dashboard: DashboardId, at_least: ApiRole) -> None:
    async with acting(call.api.pool, call.principal) as conn:
        await require(call, conn, dashboard, at_least)


def _version_out(v: NamedVersion) -> VersionOut:
    return VersionOut(version=v.version, label=v.label, created_by=user_ref(v.created_by),
                      created_at=v.created_at)  # fmt: skip


async def list_versions(call: Call) -> Page[VersionOut]:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    await authorised(call, dashboard, "viewer")
    named = await Versions(store_of(call)).list_versions(dashboard)
    return Page[VersionOut](items=[_version_out(v) for v in named])


async def name_version(call: Call) -> Reply:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    body = call.take("body", NameVersion)
    await authorised(call, dashboard, "editor")
    named = await Versions(store_of(call)).name_version(
        dashboard, label=body.label, version=body.version, user_id=call.user.user_id
    )
    await call.api.audit.write_audit("version.named", call.user.user_id, dashboard,
                                     {"version": named.version}, ip=call.ip)  # fmt: skip
    return Reply(_version_out(named), 201)


async def rename_version(call: Call) -> VersionOut:
    params = call.take("params", VersionParams)
    dashboard = DashboardId(params.id)
    await authorised(call, dashboard, "editor")
    label = call.take("body", Rename).label
    return _version_out(await Versions(store_of(call)).rename_version(dashboard, params.version,
                                                                      label))  # fmt: skip


async def unname_version(call: Call) -> None:
    params = call.take("params", VersionParams)
    dashboard = DashboardId(params.id)
    await authorised(call, dashboard, "editor")
    await Versions(store_of(call)).unname_version(dashboard, params.version)
    await call.api.audit.write_audit("version.unnamed", call.user.user_id, dashboard,
                                     {"version": params.version}, ip=call.ip)  # fmt: skip


async def snapshot(call: Call) -> SnapshotOut:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    query = call.take("query", SnapshotQuery)
    if query.version is not None and query.at is not None:
        raise BadRequest("give version or at, not both")
    await authorised(call, dashboard, "viewer")
    found = await store_of(call).load(dashboard, version=query.version, at=query.at)
    return SnapshotOut(version=found.version, document=found.document)


async def ops(call: Call) -> OpsOut:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    query = call.take("query", OpsQuery)
    await authorised(call, dashboard, "viewer")
    page = await Timeline(call.api.pool).ops_since(dashboard, query.since, query.limit)
    items = [
        LoggedOpOut(version=o.version, op=o.op, operation_type=o.operation_type,
                    target_id=o.target_id, user=user_ref(o.user), created_at=o.created_at)
        for o in page.items
    ]  # fmt: skip
    return OpsOut(items=items, next_since=page.next_since)


async def diff(call: Call) -> DiffOut:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    query = call.take("query", DiffQuery)
    await authorised(call, dashboard, "viewer")
    found = await compare(store_of(call), dashboard, query.from_, query.to)
    summary = found.summary
    return DiffOut(
        from_=found.from_version,
        to=found.to_version,
        op=found.op,
        widgets=[
            WidgetDiff(widget_id=w.widget_id, title=w.title, changes=list(w.changes),
                       users=[UserRef(**u) for u in w.users])
            for w in summary.widgets
        ],
        dashboard=DashboardDiff(changes=list(summary.dashboard),
                                users=[UserRef(**u) for u in summary.dashboard_users]),
    )  # fmt: skip


async def widget_history(call: Call) -> Page[WidgetChangeOut]:
    params = call.take("params", WidgetParams)
    query = call.take("query", WidgetQuery)
    dashboard = DashboardId(params.id)
    await authorised(call, dashboard, "viewer")
    page = await Timeline(call.api.pool).widget_history(
        dashboard, params.wid, cursor=query.cursor, limit=query.limit
    )
    items = [
        WidgetChangeOut(version=c.version, operation_type=c.operation_type, user=user_ref(c.user),
                        created_at=c.created_at)
        for c in page.items
    ]  # fmt: skip
    return Page[WidgetChangeOut](items=items, next_cursor=page.next_cursor)


_ANY: Auth = "any"
ENDPOINTS = [
    Endpoint("GET", "/dashboards/{id}/versions", list_versions, "Named versions, newest first",
             "history", Page[VersionOut], params=DashboardParams, auth=_ANY, errors=(NotFound,)),
    Endpoint("POST", "/dashboards/{id}/versions", name_version,
             "Name the head, or a past version", "history", VersionOut, 201,
             params=DashboardParams, body=NameVersion, auth=_ANY,
             errors=(NotFound, Forbidden, VersionNamed, VersionUnavailable)),
    Endpoint("PATCH", "/dashboards/{id}/versions/{version}", rename_version, "Rename a version",
             "history", VersionOut, params=VersionParams, body=Rename, auth=_ANY,
             errors=(NotFound, Forbidden)),
    Endpoint("DELETE", "/dashboards/{id}/versions/{version}", unname_version,
             "Unname a version (its checkpoint stays while the log needs it)", "history",
             params=VersionParams, auth=_ANY, errors=(NotFound, Forbidden)),
    Endpoint("GET", "/dashboards/{id}/snapshot", snapshot,
             "The document at a version or a time (default: the head)", "history", SnapshotOut,
             params=DashboardParams, query=SnapshotQuery, auth=_ANY,
             errors=(NotFound, VersionUnavailable)),
    Endpoint("GET", "/dashboards/{id}/ops", ops, "Ops from a version on, with who, when, what",
             "history", OpsOut, params=DashboardParams, query=OpsQuery, auth=_ANY,
             errors=(NotFound, VersionUnavailable)),
    Endpoint("GET", "/dashboards/{id}/diff", diff,
             "The op between two versions and what changed per widget, by whom", "history",
             DiffOut, params=DashboardParams, query=DiffQuery, auth=_ANY,
             errors=(NotFound, VersionUnavailable)),
    Endpoint("GET", "/dashboards/{id}/widgets/{wid}/history", widget_history,
             "Who changed this widget, when and how, newest first", "history",
             Page[WidgetChangeOut], params=WidgetParams, query=WidgetQuery, auth=_ANY,
             errors=(NotFound,)),
]  # fmt: skip
