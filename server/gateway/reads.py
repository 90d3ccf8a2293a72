"""Fetch, subscribe and snapshot requests: what a client reads, each checked against its role.

A subscribe loads the snapshot (or the ops since the client's version), lets the session order
the reply against the stream, then starts listening from exactly the loaded version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from server.core.codes import Code
from server.core.errors import TandemError
from server.core.ids import DashboardId
from server.gateway import writes
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError
from server.protocol.names import dashboard_id, echo
from server.protocol.outgoing import Out
from server.protocol.session import Output
from server.store.model import Role

if TYPE_CHECKING:
    from server.gateway.dispatch import Dispatcher


async def fetch(d: Dispatcher, message: m.Fetch) -> None:
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    await d.role(dashboard, where)
    if message.version is None:
        snapshot = await d.hub.snapshot(dashboard)
        d.link.send(outgoing.doc_reply("f", message.doc, outgoing.snapshot_data(snapshot)))
        return
    for op in await d.hub.ops_since(dashboard, message.version):
        d.link.send(outgoing.op(message.doc, op))
    d.link.send(outgoing.doc_reply("f", message.doc))


async def subscribe(d: Dispatcher, message: m.Subscribe) -> None:
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    role = await d.role(dashboard, where)
    await subscribe_one(d, dashboard, role, message.doc, message.version, "s")


async def subscribe_one(
    d: Dispatcher, dashboard: DashboardId, role: Role, doc: str, version: int | None, action: str
) -> Out | None:
    """Load, reply (unless bulk: then the snapshot data is returned), start the stream."""
    session = d.session
    new = session.subscribe_started(dashboard, doc)
    try:
        if version is None:
            snapshot = await d.hub.snapshot(dashboard)
            data = outgoing.snapshot_data(snapshot)
            reply = outgoing.doc_reply(action, doc, data)
            out = session.subscribe_loaded(dashboard, reply, snapshot=snapshot)
            start = snapshot.version
        else:
            ops = await d.hub.ops_since(dashboard, version)
            data = None
            reply = outgoing.doc_reply(action, doc)
            out = session.subscribe_loaded(dashboard, reply, ops=ops, from_version=version)
            start = max([version, *(op.version + 1 for op in ops)])
    except BaseException:
        if session.subscribe_failed(dashboard):
            d.unlisten(dashboard)
        raise
    if action == "bs":  # the bulk reply carries the data for every doc at once
        out = Output(tuple(x for x in out.messages if x is not reply), out.catch_up)
    d.emit(out, asked=True)
    if new:
        # From the loaded version on: nothing committed meanwhile is missed or repeated.
        d.listeners[dashboard] = d.hub.listen(dashboard, d.on_op, from_version=start)
    d.standing.watch(dashboard, role)
    return data


async def unsubscribe(d: Dispatcher, message: m.Unsubscribe) -> None:
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    if d.session.unsubscribed(dashboard):
        d.unlisten(dashboard)
    d.link.send(outgoing.doc_reply("u", message.doc))
    await _answer_stranded(d, dashboard)


async def bulk(d: Dispatcher, message: m.BulkFetch | m.BulkSubscribe) -> None:
    where = echo(message)
    _bulk_size(d, message.docs, where)
    action = message.action
    subscribing = isinstance(message, m.BulkSubscribe)
    if message.versions is None:
        data: dict[str, Out] = {}
        refused = 0
        for doc in message.docs:
            try:
                dashboard = dashboard_id(message.collection, doc, where)
                role = await d.role(dashboard, where)
                if subscribing:
                    loaded = await subscribe_one(d, dashboard, role, doc, None, action)
                    assert loaded is not None
                    data[doc] = loaded
                else:
                    data[doc] = outgoing.snapshot_data(await d.hub.snapshot(dashboard))
            except TandemError as exc:
                data[doc] = {"error": {"code": exc.code, "message": exc.message}}
                refused += 1
        d.link.send(outgoing.bulk_reply(action, data))
        if refused:  # each refused id counts like a refused message of its own
            d.link.strike(refused)
        return
    # The object form sends ops, and its reply cannot carry per-doc errors: every doc must
    # be readable or the whole request fails (telling nothing about which one).
    targets = []
    for doc, version in zip(message.docs, message.versions, strict=True):
        dashboard = dashboard_id(message.collection, doc, where)
        role = await d.role(dashboard, where)
        targets.append((dashboard, role, doc, version or 0))
    for dashboard, role, doc, version in targets:
        if subscribing:
            await subscribe_one(d, dashboard, role, doc, version, action)
        else:
            for op in await d.hub.ops_since(dashboard, version):
                d.link.send(outgoing.op(doc, op))
    d.link.send(outgoing.bulk_done(action, dict(zip(message.docs, message.versions, strict=True))))


def _bulk_size(d: Dispatcher, docs: tuple[str, ...], where: dict[str, object]) -> None:
    limit = d.services.settings.max_bulk_ids
    if len(docs) > limit:
        raise ProtocolError(
            Code.TOO_MANY_IDS, f"at most {limit} dashboards per bulk request", echo=where
        )


async def bulk_unsubscribe(d: Dispatcher, message: m.BulkUnsubscribe) -> None:
    where = echo(message)
    _bulk_size(d, message.docs, where)
    unsubscribed: list[DashboardId] = []
    for doc in message.docs:
        try:
            dashboard = dashboard_id(message.collection, doc, where)
        except ProtocolError:
            continue
        if d.session.unsubscribed(dashboard):
            d.unlisten(dashboard)
            unsubscribed.append(dashboard)
    d.link.send(outgoing.bulk_done("bu", list(message.docs)))
    for dashboard in unsubscribed:
        await _answer_stranded(d, dashboard)


async def _answer_stranded(d: Dispatcher, dashboard: DashboardId) -> None:
    """Submits whose ack waited for the stream just ended are acked the unsubscribed way."""
    for record, committed in d.session.stranded(dashboard):
        await writes.answer(d, record, committed)


async def snapshot_fetch(d: Dispatcher, message: m.SnapshotFetch | m.SnapshotFetchAt) -> None:
    where = echo(message)
    dashboard = dashboard_id(message.collection, message.doc, where)
    await d.role(dashboard, where)
    if isinstance(message, m.SnapshotFetch):
        snapshot = await d.hub.snapshot(dashboard, version=message.version)
    else:
        at = None if message.timestamp is None else _moment(message.timestamp, where)
        snapshot = await d.hub.snapshot(dashboard, at=at)
    d.link.send(outgoing.snapshot_at(message.request_id, message.action, snapshot))


def _moment(ms: int, where: dict[str, object]) -> datetime:
    """A snapshot request's ``ts`` (ms since the epoch) as a time; one no calendar holds is
    refused."""
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtocolError(
            Code.INVALID_MESSAGE, "'ts' is not a time (milliseconds since 1970)", echo=where
        ) from None
