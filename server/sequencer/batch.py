"""The pure part of sequencing one batch: no I/O, tested by feeding values.

A :class:`Batch` starts from the holder's head (version, document) and takes the queue's
records in order. For each one, as ShareDB's server does for each submit:

1. :func:`check_base`: a base version beyond the head is ``op_from_future``, one below 1 (the
   create) ``already_created``, a dashboard that does not exist ``not_found``;
2. :func:`window` / :func:`find_duplicate`: the ops committed since the base version (from the
   holder's memory and the batch so far); a record already among them is a resubmit, answered
   with its original version and not applied again;
3. :func:`sequence`: the op is transformed (``left``) against those ops (a domain op is built
   against the head instead), applied, checked (an op that leaves an invalid or too large
   dashboard is refused alone), classified, and appended to the batch.

Example: at head 3, a record based on version 2 is transformed against version 2's op only.
The holder (:mod:`server.sequencer.holding`) reads what is older than its memory from the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ot import dashboard, json0
from ot.json0.checked import components
from server.core.codes import Code
from server.core.ids import DashboardId
from server.core.jsonvalue import JSONB
from server.core.oplog import NewOp
from server.core.submission import Committed, Rejected, SubmitRecord
from server.sequencer.size import SizeBound

Checked = json0.CheckedOp | None  # a committed op, validated once (None: a create)


class Refusal(Exception):
    """One record refused with a stable code; the rest of the batch goes on."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Batch:
    """The working state of one batch: becomes the holder's state only after COMMIT."""

    dashboard_id: DashboardId
    version: int
    document: Any
    exists: bool
    create: SubmitRecord | None = None  # a create ends its batch: it commits on its own
    ops: list[NewOp] = field(default_factory=list)
    committed: list[Committed] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)  # each committed's op
    duplicates: list[Committed] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def refuse(self, src: str, seq: int, code: Code, message: str) -> None:
        self.rejected.append(Rejected(self.dashboard_id, src, seq, code, message))


def committed(record: SubmitRecord, version: int, **fields: Any) -> Committed:
    """The answer for ``record`` committed (or found committed) at ``version``."""
    return Committed(
        dashboard_id=record.dashboard_id,
        version=version,
        src=record.src,
        seq=record.seq,
        user_id=record.user_id,
        **fields,
    )


def check_base(record: SubmitRecord, batch: Batch) -> None:
    """Refuse an op whose base version cannot be sequenced at this batch's head."""
    if not batch.exists:
        raise Refusal(Code.NOT_FOUND, "the dashboard does not exist")
    if record.version > batch.version:
        raise Refusal(Code.OP_FROM_FUTURE, f"version {record.version} is beyond the head")
    if record.version < 1:
        raise Refusal(Code.ALREADY_CREATED, "the dashboard was created by someone else")


def window(
    record: SubmitRecord, batch: Batch, recent: list[Committed], recent_checked: list[Checked]
) -> tuple[list[Committed], list[Checked]] | None:
    """The ops from the record's base version to the batch head, with their checked ops, when
    the holder's memory (``recent``, ending at the holding's head) and the batch hold them all;
    None when older ones must be read from the log (from :func:`memory_start` on)."""
    start = memory_start(batch, recent)
    if record.version < start:
        return None
    offset = record.version - start
    cut = max(0, offset - len(recent))
    return recent[offset:] + batch.committed[cut:], recent_checked[offset:] + batch.checked[cut:]


def memory_start(batch: Batch, recent: list[Committed]) -> int:
    """The first version the holder's memory and the batch hold."""
    return batch.version - len(recent) - len(batch.committed)


def find_duplicate(record: SubmitRecord, since: list[Committed]) -> Committed | None:
    """The committed op ``record`` resubmits, if it is among ``since``."""
    if record.src:
        for c in since:
            if c.src == record.src and c.seq == record.seq:
                return c
    return None


def sequence(
    record: SubmitRecord, batch: Batch, since: list[Checked], now: datetime, size: SizeBound
) -> None:
    """Transform the record's op past ``since``, apply it and append it to the batch; raises
    :class:`Refusal` or an :class:`~ot.errors.OTError` for an op that cannot be sequenced."""
    # As strict as the log: what passes is stored as it is (see NewOp.sequenced).
    if record.dop is not None:
        checked = json0.check(dashboard.build_all(batch.document, record.dop), JSONB)
    elif record.op is not None:
        checked = json0.check(record.op, JSONB)
        for other in since:
            if other is not None:
                checked = json0.transform(checked, other, "left")
    else:
        raise Refusal(Code.INVALID_OP, "the submit carries no op")
    document, inverse = json0.apply_and_invert(batch.document, checked)
    # Only what the op touched: the document before it was valid. Both take the checked op as
    # it is, without validating it again.
    dashboard.validate_after(document, checked)
    # The committed op, the stored one and the one later ops are transformed past are the same
    # components: like every op here they are never changed in place, and a restore of 1,000
    # widgets need not be copied (and kept) twice.
    op = components(checked)
    if not size.fits(document, op):
        raise Refusal(
            Code.DOCUMENT_TOO_LARGE, f"the dashboard would be larger than {size.limit} bytes"
        )
    operation_type, target_id = dashboard.classify(checked)
    batch.ops.append(
        NewOp(
            src=record.src,
            seq=record.seq,
            user_id=record.user_id,
            client_version=record.version,
            op=op,
            inverse=inverse,
            operation_type=operation_type,
            target_id=target_id,
            sequenced=True,
        )
    )
    # Stamped with this clock: the log's own created_at is only known to later readers.
    batch.committed.append(committed(record, batch.version, op=op, created_at=now))
    batch.checked.append(checked)
    batch.version += 1
    batch.document = document


def begin_create(record: SubmitRecord, batch: Batch, now: datetime) -> None:
    """A create for a dashboard that does not exist yet: it becomes version 0 and ends the
    batch (it commits on its own)."""
    assert record.create is not None and not batch.exists
    document = record.create.get("data")
    dashboard.validate_document(document)
    batch.create = record
    batch.committed.append(committed(record, 0, create=record.create, created_at=now))
    batch.checked.append(None)
    batch.version = 1
    batch.document = document
    batch.exists = True
