"""Restore, undo and redo over HTTP: each is one op through the sequencer, as the caller.

``POST /dashboards/{id}/restore {version}`` submits the op that brings the dashboard back to
that version (:mod:`server.history.restore`); ``POST …/undo`` and ``…/redo`` revert the
caller's own newest op past everything others did since (:mod:`server.history.undo`). All need
the editor role; a guest editor undoes its own ops.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from server.api.endpoint import Call, Endpoint
from server.api.history import authorised, store_of
from server.api.models import DashboardParams, Request
from server.core.errors import Forbidden, NotFound
from server.core.ids import DashboardId
from server.history.restore import restore
from server.history.undo import UndoResult, redo_last, undo_last
from server.store.history import VersionUnavailable


class RestoreBody(Request):
    version: Annotated[int, Field(ge=1, le=2**53 - 1)]


class RestoreOut(BaseModel):
    version: int
    restored_from: int


class UndoOut(BaseModel):
    version: int | None
    applied: bool
    reason: str | None = None


async def restore_version(call: Call) -> RestoreOut:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    version = call.take("body", RestoreBody).version
    await authorised(call, dashboard, "editor")
    done = await restore(store=store_of(call), hub=call.api.hub, audit=call.api.audit,
                         dashboard_id=dashboard, version=version, user_id=call.user.user_id,
                         ip=call.ip)  # fmt: skip
    return RestoreOut(version=done.version, restored_from=done.restored_from)


def _undo_out(result: UndoResult) -> UndoOut:
    return UndoOut(version=result.version, applied=result.applied, reason=result.reason)


async def undo(call: Call) -> UndoOut:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    await authorised(call, dashboard, "editor")
    return _undo_out(await undo_last(store=store_of(call), hub=call.api.hub,
                                     dashboard_id=dashboard, user_id=call.user.user_id))  # fmt: skip


async def redo(call: Call) -> UndoOut:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    await authorised(call, dashboard, "editor")
    return _undo_out(await redo_last(store=store_of(call), hub=call.api.hub,
                                     dashboard_id=dashboard, user_id=call.user.user_id))  # fmt: skip


ENDPOINTS = [
    Endpoint("POST", "/dashboards/{id}/restore", restore_version,
             "Restore a version: one op through the sequencer, seen live, undoable", "history",
             RestoreOut, params=DashboardParams, body=RestoreBody, auth="any",
             errors=(NotFound, Forbidden, VersionUnavailable)),
    Endpoint("POST", "/dashboards/{id}/undo", undo,
             "Undo the caller's own newest op, past what others did since", "history", UndoOut,
             params=DashboardParams, auth="any", errors=(NotFound, Forbidden)),
    Endpoint("POST", "/dashboards/{id}/redo", redo,
             "Redo the caller's newest undo (dropped after a new edit of theirs)", "history",
             UndoOut, params=DashboardParams, auth="any", errors=(NotFound, Forbidden)),
]  # fmt: skip
