"""A dashboard's start and end over the socket: ShareDB's ``create`` and ``del``.

A ``create`` of a dashboard id that does not exist makes the caller its owner: the record goes
through the sequencer like ``POST /api/dashboards`` (which checks the document against the
schema and refuses an id that exists with ``already_created``); once committed, the caller's
role is known at once here and announced to every gateway, whose live queries of the owner then
show it. Guests (a share link's sessions) create nothing.

A ``del`` archives the dashboard, as ``PATCH /api/dashboards/{id} {archived: true}`` does: the
owner's and admins' only (others get ``forbidden``); it changes metadata, not the document, so
it is acknowledged at the version it was sent at and nobody else receives an op.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.access.changes import AccessChange
from server.core import log
from server.core.codes import Code
from server.core.errors import TandemError
from server.core.submission import SubmitRecord
from server.protocol import message as m
from server.protocol.errors import ProtocolError
from server.protocol.names import dashboard_id, echo

if TYPE_CHECKING:
    from server.gateway.dispatch import Dispatcher

_log = log.get(__name__)


def check_create(d: Dispatcher, where: dict[str, object]) -> None:
    """Refuse a create of a new dashboard by whoever may not own one."""
    if d.guest:
        raise ProtocolError(Code.FORBIDDEN, "a guest cannot create dashboards", echo=where)


async def created(d: Dispatcher, record: SubmitRecord) -> None:
    """After the create committed: the owner's role, the audit row, the announcement."""
    dashboard, user = record.dashboard_id, record.user_id
    assert user is not None
    d.services.roles.put({(dashboard, user): "admin"})
    try:
        await d.services.audit.write_audit("dashboard.created", user, dashboard, ip=d.link.ip)
        await _announce(d, AccessChange("role", str(user), dashboard))
    except TandemError as exc:  # created and acknowledged; the sweep and the next change catch up
        _log.warning("dashboard.create_follow_up_failed", error=exc.code)


async def delete(d: Dispatcher, message: m.Submit) -> None:
    """A ``del``: archive the dashboard (admins), then acknowledge."""
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    role = await d.role(dashboard, where)
    if role != "admin":
        raise ProtocolError(
            Code.FORBIDDEN, "only the owner or an admin can delete (archive) it", echo=where
        )
    if not d.ops_bucket.take(time.monotonic()):
        raise ProtocolError(Code.RATE_LIMITED, "too many ops; slow down", echo=where)
    record = d.session.submit_record(message, dashboard)
    d.link.spawn(_archive(d, record), "ws.delete")


async def _archive(d: Dispatcher, record: SubmitRecord) -> None:
    dashboard = record.dashboard_id
    try:
        await d.patiently(lambda: d.services.catalog.set_archived(dashboard, True), "archive")
    except TandemError as exc:
        for reply in d.session.submit_failed(record, exc.code, exc.message):
            d.link.send(reply)
        return
    for reply in d.session.submit_answered(record):
        d.link.send(reply)
    try:
        await d.services.audit.write_audit("dashboard.archived", d.user, dashboard, ip=d.link.ip)
        await _announce(d, AccessChange("dashboard", str(dashboard), dashboard))
    except TandemError as exc:  # archived and acknowledged; the sweep catches up
        _log.warning("dashboard.archive_follow_up_failed", error=exc.code)


async def _announce(d: Dispatcher, change: AccessChange) -> None:
    if d.services.announce is not None:
        await d.services.announce(change)
