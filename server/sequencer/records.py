"""What travels through Redis between the gateways and the sequencer.

A submit is one orjson record in the dashboard's queue. The sequencer answers each batch with
one message on the dashboard's channel::

    {"g": "<gateway id>",     # the publishing process
     "c": [committed, ...],   # new ops, consecutive versions, in order
     "d": [committed, ...],   # resubmits of ops already in the log, with their original version
     "r": [{"src", "seq", "code", "message"}, ...]}

    committed := {"v": 7, "src": "c1", "seq": 3, "op": [...]?, "create": {...}?, "del": true?,
                  "uid": "<uuid>"?, "at": "<iso time>"?}
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from server.core.codes import Code
from server.core.ids import DashboardId, UserId
from server.core.submission import Committed, Rejected, SubmitRecord
from server.store.history import JSON0_URI
from server.store.model import StoredOp


@dataclass(frozen=True)
class BatchOutcome:
    dashboard_id: DashboardId
    committed: tuple[Committed, ...] = ()
    duplicates: tuple[Committed, ...] = ()
    rejected: tuple[Rejected, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.committed or self.duplicates or self.rejected)


def encode_record(record: SubmitRecord) -> bytes:
    body: dict[str, Any] = {
        "src": record.src,
        "seq": record.seq,
        "v": record.version,
        "uid": str(record.user_id),
    }
    if record.op is not None:
        body["op"] = record.op
    if record.dop is not None:
        body["dop"] = record.dop
    if record.create is not None:
        body["create"] = record.create
    if record.delete:
        body["del"] = True
    return orjson.dumps(body)


def decode_record(dashboard_id: DashboardId, raw: bytes) -> SubmitRecord:
    """Raises ValueError (orjson's, or for a missing or mistyped field) on a malformed record."""
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("a submit record is a JSON object")
    try:
        return SubmitRecord(
            dashboard_id=dashboard_id,
            src=str(body["src"]),
            seq=int(body["seq"]),
            version=int(body["v"]),
            user_id=UserId(UUID(body["uid"])),
            op=body.get("op"),
            dop=body.get("dop"),
            create=body.get("create"),
            delete=bool(body.get("del", False)),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed submit record: {exc}") from exc


def committed_from_stored(stored: StoredOp) -> Committed:
    """The log's form of an op as the feed delivers it (a create comes back as ``create``)."""
    committed = Committed(
        dashboard_id=stored.dashboard_id,
        version=stored.version,
        src=stored.src,
        seq=stored.seq,
        op=stored.op,
        user_id=stored.user_id,
        created_at=stored.created_at,
    )
    if stored.operation_type == "create":
        data = stored.op[0].get("oi") if stored.op else None
        return replace(committed, op=None, create={"type": JSON0_URI, "data": data})
    return committed


def encode_outcome(outcome: BatchOutcome, origin: str = "") -> bytes:
    """``origin`` names the publishing process; it comes first, so that process can recognise
    its own message (see :func:`origin_prefix`) without decoding it."""
    return orjson.dumps(
        {
            "g": origin,
            "c": [_committed_body(c) for c in outcome.committed],
            "d": [_committed_body(c) for c in outcome.duplicates],
            "r": [
                {"src": r.src, "seq": r.seq, "code": r.code, "message": r.message}
                for r in outcome.rejected
            ],
        }
    )


def origin_prefix(origin: str) -> bytes:
    """How every message :func:`encode_outcome` makes for ``origin`` begins."""
    return orjson.dumps({"g": origin})[:-1] + b","


def decode_outcome(dashboard_id: DashboardId, raw: bytes) -> BatchOutcome:
    """Raises ValueError on a malformed message."""
    body = orjson.loads(raw)
    try:
        return BatchOutcome(
            dashboard_id=dashboard_id,
            committed=tuple(_committed(dashboard_id, c) for c in body["c"]),
            duplicates=tuple(_committed(dashboard_id, c) for c in body["d"]),
            rejected=tuple(
                Rejected(
                    dashboard_id=dashboard_id,
                    src=str(r["src"]),
                    seq=int(r["seq"]),
                    code=Code.of(str(r["code"])),
                    message=str(r["message"]),
                )
                for r in body["r"]
            ),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed batch message: {exc}") from exc


def _committed_body(c: Committed) -> dict[str, Any]:
    body: dict[str, Any] = {"v": c.version, "src": c.src, "seq": c.seq}
    if c.op is not None:
        body["op"] = c.op
    if c.create is not None:
        body["create"] = c.create
    if c.delete:
        body["del"] = True
    if c.user_id is not None:
        body["uid"] = str(c.user_id)
    if c.created_at is not None:
        body["at"] = c.created_at.isoformat()
    return body


def _committed(dashboard_id: DashboardId, body: dict[str, Any]) -> Committed:
    uid = body.get("uid")
    at = body.get("at")
    return Committed(
        dashboard_id=dashboard_id,
        version=int(body["v"]),
        src=str(body["src"]),
        seq=int(body["seq"]),
        op=body.get("op"),
        create=body.get("create"),
        delete=bool(body.get("del", False)),
        user_id=UserId(UUID(uid)) if uid is not None else None,
        created_at=datetime.fromisoformat(at) if at is not None else None,
    )
