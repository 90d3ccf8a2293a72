"""Submits, undo and redo: what a client changes, admitted by role and rate, run off the reader
(``create`` of a new dashboard and ``del``: :mod:`server.gateway.lifecycle`).

Admission (role, op type, pending and rate limits) happens in order on the reader; the submit
itself runs as its own task so one slow commit does not hold the connection's other messages.
On a dashboard the client subscribes to, its ack is its own op arriving in the subscription's
stream (:meth:`~server.protocol.session.Session.op_committed`); the hub's answer acknowledges
only a submit the client is not subscribed for, after the ops it was transformed against.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.access.roles import EDIT_ROLES
from server.core import log, metrics
from server.core.codes import Code
from server.core.errors import TandemError
from server.core.submission import Committed, SubmitRecord
from server.gateway import lifecycle
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError, not_found
from server.protocol.names import dashboard_id, echo
from server.protocol.session import CatchUp

if TYPE_CHECKING:
    from server.gateway.dispatch import Dispatcher

_log = log.get(__name__)

JSON0_NAMES = frozenset({outgoing.JSON0_URI, "json0"})


async def submit(d: Dispatcher, message: m.Submit) -> None:
    metrics.OPS_RECEIVED.inc()
    started = time.perf_counter()
    try:
        if message.delete:
            await lifecycle.delete(d, message)
            return
        record = await _admit(d, message)
    except (ProtocolError, TandemError) as exc:
        metrics.OPS_REJECTED.labels(exc.code).inc()
        raise
    d.link.spawn(_run(d, record, started), "ws.submit")


async def _admit(d: Dispatcher, message: m.Submit) -> SubmitRecord:
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    role = await d.role_or_none(dashboard)
    if role is None:
        if message.create is None:
            raise not_found(where)
        lifecycle.check_create(d, where)  # a new dashboard (or one the user cannot see: refused)
    elif role not in EDIT_ROLES:
        raise ProtocolError(Code.FORBIDDEN, f"a {role} cannot edit this dashboard", echo=where)
    if message.create is not None and message.create.get("type") not in JSON0_NAMES:
        raise ProtocolError(Code.INVALID_OP, "dashboards are json0 documents", echo=where)
    limiter = d.services.user_limiter
    if (
        d.session.pending_submits() >= d.services.settings.max_pending_submits
        or not d.ops_bucket.take(time.monotonic())
        or not (
            limiter.allow_leased(d.user) or await d.patiently(lambda: limiter.allow(d.user), "rate")
        )
    ):
        raise ProtocolError(Code.RATE_LIMITED, "too many ops; slow down", echo=where)
    return d.session.submit_record(message, dashboard)


async def _run(d: Dispatcher, record: SubmitRecord, started: float) -> None:
    session, link = d.session, d.link
    try:
        committed = await d.hub.submit(record)
    except TandemError as exc:
        metrics.OPS_REJECTED.labels(exc.code).inc()
        for reply in session.submit_failed(record, exc.code, exc.message):
            link.send(reply)
        _log.info("op.refused", dashboard=str(record.dashboard_id), code=exc.code)
        return
    seconds = time.perf_counter() - started
    metrics.ACK_SECONDS.observe(seconds)
    # The one summary line per submit (filtered out, at no cost, above debug).
    _log.debug(
        "op.acked",
        dashboard=str(record.dashboard_id),
        version=committed.version,
        ms=round(seconds * 1000, 2),
    )
    if record.create is not None and committed.version == 0:
        await lifecycle.created(d, record)
    await answer(d, record, committed)


async def answer(d: Dispatcher, record: SubmitRecord, committed: Committed) -> None:
    """Send what the session makes of a submit's commit: an ack, or the ops it was
    transformed against and then the ack, or (subscribed) nothing until the stream has it."""
    session, link = d.session, d.link
    out = session.submit_committed(record, committed)
    for reply in out.messages:
        link.send(reply)
    if out.catch_up is None:
        return
    # Not subscribed: like ShareDB's agent, the ops the submit was transformed against first.
    ops = await _ops_or_nothing(d, out.catch_up)
    for reply in session.submit_ops_loaded(record, ops):
        link.send(reply)


async def _ops_or_nothing(d: Dispatcher, catch_up: CatchUp) -> list[Committed]:
    """The ops a submit's ack follows; none when the log cannot give them (the client refetches
    on the gap it then sees, as ShareDB's client does)."""
    try:
        return await d.hub.ops_since(catch_up.dashboard_id, catch_up.from_version)
    except TandemError as exc:
        _log.warning("ws.catch_up_failed", dashboard=str(catch_up.dashboard_id), error=exc.code)
        return []


async def revert(d: Dispatcher, message: m.Undo) -> None:
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    if await d.role(dashboard, where) not in EDIT_ROLES:
        raise ProtocolError(Code.FORBIDDEN, "only editors undo and redo", echo=where)
    history = d.services.history
    if history is None:
        raise ProtocolError(Code.UNKNOWN_ACTION, "this server has no undo", echo=where)
    if not d.ops_bucket.take(time.monotonic()):
        raise ProtocolError(Code.RATE_LIMITED, "too many ops; slow down", echo=where)
    redo = isinstance(message, m.Redo)
    user = d.user

    async def run() -> None:
        try:
            done = await (history.redo if redo else history.undo)(dashboard, user)
        except TandemError as exc:
            d.link.send(outgoing.error(where, exc.code, exc.message))
            return
        d.link.send(outgoing.reverted(message.request_id, message.action, message.doc,
                                      done.version, done.applied, done.reason))  # fmt: skip

    d.link.spawn(run(), "ws.undo")
