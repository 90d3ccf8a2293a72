"""Messages the gateway sends, built as plain dicts, and their encoding.

Shapes follow ShareDB 1.2's agent so the stock client needs no changes: an op broadcast is
``{a:'op', c, d, v, src, seq, op}`` (or ``create`` / ``del``), an acknowledgement the same
without the op, a snapshot ``{v, data, type}``, an error the request's routing fields plus
``error: {code, message}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from server.core.ids import DashboardId
from server.core.oplog import Snapshot
from server.core.submission import Committed, PresenceUpdate
from server.protocol.query_diff import Change, Insert, Remove

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 2
JSON0_URI = "http://sharejs.org/types/JSONv0"
COLLECTION = "dashboards"

Out = dict[str, Any]


class Frame(dict[str, Any]):
    """A message that many connections send unchanged (an op broadcast): encoded once, on
    first use. Like every message here it is never changed once built."""

    __slots__ = ("_encoded",)

    def encoded(self) -> bytes:
        try:
            return self._encoded
        except AttributeError:
            self._encoded: bytes = orjson.dumps(self)
            return self._encoded


def encode(message: Out) -> bytes:
    """The message as the UTF-8 JSON text of a WebSocket text frame."""
    if type(message) is Frame:
        return message.encoded()
    return orjson.dumps(message)


def greeting(action: str, connection_id: str) -> Out:
    """``init`` (sent on connect) and the ``hs`` reply share one shape."""
    return {
        "a": action,
        "protocol": PROTOCOL_MAJOR,
        "protocolMinor": PROTOCOL_MINOR,
        "id": connection_id,
        "type": JSON0_URI,
    }


def auth_ok(user_id: str) -> Out:
    return {"a": "auth", "user": user_id}


def pong() -> Out:
    return {"a": "pp"}


def error(echo: dict[str, object], code: str, message: str) -> Out:
    reply: Out = dict(echo)
    reply["error"] = {"code": code, "message": message}
    return reply


def snapshot_data(snapshot: Snapshot) -> Out:
    """A snapshot as ``s``/``f``/bulk replies carry it; a deleted dashboard has type null."""
    document = snapshot.document
    return {
        "v": snapshot.version,
        "data": document,
        "type": JSON0_URI if document is not None else None,
    }


def doc_reply(action: str, doc: str, data: Out | None = None) -> Out:
    reply: Out = {"a": action, "c": COLLECTION, "d": doc}
    if data is not None:
        reply["data"] = data
    return reply


def bulk_reply(action: str, data: dict[str, Out]) -> Out:
    """Per-doc snapshots or ``{error}`` entries (the list form of ``bf``/``bs``)."""
    return {"a": action, "c": COLLECTION, "data": data}


def bulk_done(action: str, b: list[str] | dict[str, int | None]) -> Out:
    """The reply to an object-form bulk request (ops were sent) and to ``bu``."""
    return {"a": action, "c": COLLECTION, "b": b}


def op(doc: str, committed: Committed) -> Out:
    """The broadcast of ``committed``: one shared :class:`Frame` per doc id."""
    frame = committed.frames.get(doc)
    if frame is None:
        frame = committed.frames[doc] = Frame(_op(doc, committed))
    return frame


def _op(doc: str, committed: Committed) -> Out:
    message: Out = {
        "a": "op",
        "c": COLLECTION,
        "d": doc,
        "v": committed.version,
        "src": committed.src,
        "seq": committed.seq,
    }
    if committed.create is not None:
        message["create"] = committed.create
    elif committed.delete:
        message["del"] = True
    else:
        message["op"] = committed.op if committed.op is not None else []
    return message


def ack(doc: str, version: int, src: str, seq: int, op: list[dict[str, Any]] | None = None) -> Out:
    """``op`` is included only for domain-op submits, whose client cannot derive it."""
    message: Out = {"a": "op", "c": COLLECTION, "d": doc, "v": version, "src": src, "seq": seq}
    if op is not None:
        message["op"] = op
    return message


def snapshot_at(request_id: int, action: str, snapshot: Snapshot) -> Out:
    """Reply to ``nf``/``nt``: ``id`` is the request id, as ShareDB's agent overwrites it."""
    document = snapshot.document
    return {
        "a": action,
        "id": request_id,
        "v": snapshot.version,
        "type": JSON0_URI if document is not None else None,
        "data": document,
        "m": None,
    }


def reverted(
    request_id: int, action: str, doc: str, version: int | None, applied: bool, reason: str | None
) -> Out:
    """Reply to ``undo``/``redo``: the version after it (None when nothing was applied)."""
    reply: Out = {"a": action, "id": request_id, "c": COLLECTION, "d": doc, "v": version,
                  "applied": applied}  # fmt: skip
    if reason is not None:
        reply["reason"] = reason
    return reply


def channel(dashboard_id: DashboardId) -> str:
    """The doc presence channel ShareDB's client uses: ``collection + '.' + id``."""
    return f"{COLLECTION}.{dashboard_id}"


def presence(update: PresenceUpdate) -> Out:
    return {
        "a": "p",
        "ch": channel(update.dashboard_id),
        "src": update.src,
        "id": update.client_id,
        "p": update.value,
        "pv": update.seq,
        "c": COLLECTION,
        "d": str(update.dashboard_id),
        "v": update.version,
        "t": JSON0_URI,
    }


def presence_subscription(action: str, ch: str, seq: int) -> Out:
    return {"a": action, "ch": ch, "seq": seq}


def query_results(
    action: str, query_id: int, rows: Iterable[tuple[str, Snapshot]], extra: Any = None
) -> Out:
    """``qf``/``qs`` results: a list of snapshots, each with its doc id in ``d``."""
    data = []
    for doc, snapshot in rows:
        item = snapshot_data(snapshot)
        item["d"] = doc
        data.append(item)
    return {"a": action, "id": query_id, "data": data, "extra": extra}


def query_diff(query_id: int, changes: Sequence[Change], snapshots: Mapping[str, Snapshot]) -> Out:
    """A subscribed query's ``q`` update; ``snapshots`` holds every inserted id's."""
    diff: list[Out] = []
    for change in changes:
        if isinstance(change, Insert):
            values = []
            for doc in change.ids:
                item = snapshot_data(snapshots[doc])
                item["d"] = doc
                values.append(item)
            diff.append({"type": "insert", "index": change.index, "values": values})
        elif isinstance(change, Remove):
            diff.append({"type": "remove", "index": change.index, "howMany": change.how_many})
        else:
            diff.append({"type": "move", "from": change.start, "to": change.to,
                         "howMany": change.how_many})  # fmt: skip
    return {"a": "q", "id": query_id, "diff": diff}


def query_unsubscribed(query_id: int) -> Out:
    return {"a": "qu", "id": query_id}
