"""Replaying the log, and the errors of asking for history that is not there.

The create op is stored in ShareDB's form, ``{"create": {"type": JSON0_URI, "data": document}}``,
in the ``operation`` column at version 0. Readers get it back as a :class:`StoredOp` whose ``op``
is the json0 op that turns the empty (version 0) snapshot into that document,
``[{"p": [], "oi": document}]``, with ``operation_type == "create"``, so a replay from scratch is
the plain application of every op in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ot import json0
from ot.errors import OTError
from server.core.codes import Code
from server.core.errors import BadData, BadRequest, NotFound
from server.core.jsonvalue import check_jsonb
from server.store.model import JsonOp, NewOp
from server.store.projection import WidgetChanges, widget_changes

JSON0_URI = "http://sharejs.org/types/JSONv0"
CREATE = "create"

Progress = Callable[[int, int], None]  # (ops applied so far, ops to apply)


class VersionUnavailable(BadRequest):
    """The version lies below the retained log (its partition has been dropped)."""

    code = Code.VERSION_UNAVAILABLE


class VersionNotFound(NotFound):
    """The version lies beyond the dashboard's head."""


class ReplayFailed(BadData):
    """A stored op does not apply to the snapshot it was stored against: the log is damaged."""

    code = Code.REPLAY_FAILED


def check_new_op(op: NewOp) -> None:
    """Refuse an op the log could not store faithfully (BadData); the sequencer's ops
    (``sequenced``) have been checked as they came in."""
    if op.sequenced:
        return
    # One walk over everything (the op, its inverse, its fields): $[0] is the op, $[1] the
    # inverse in a refusal's message.
    check_jsonb(
        [op.op, op.inverse, op.src, op.seq, op.client_version, op.operation_type, op.target_id]
    )


@dataclass(frozen=True)
class BatchPlan:
    """What committing a batch writes besides the ops themselves."""

    new_head: int
    checkpoint: bool  # the batch crosses a multiple of the interval: checkpoint the new head
    widgets: WidgetChanges


def plan_batch(
    ops: Sequence[NewOp], *, base_version: int, document: Any, checkpoint_interval: int
) -> BatchPlan:
    """Check a batch (BadRequest when empty, BadData for values jsonb cannot hold) and work out
    its new head, whether it is checkpointed, and its widget rows."""
    if not ops:
        raise BadRequest("a commit needs at least one op")
    for op in ops:
        check_new_op(op)
    new_head = base_version + len(ops)
    k = checkpoint_interval
    checkpoint = k > 0 and base_version // k < new_head // k
    changes = widget_changes(ops, document)
    if not all(op.sequenced for op in ops):  # else it is made of checked values only
        check_jsonb(document if checkpoint else [[r.position, r.config] for r in changes.upserts])
    return BatchPlan(new_head, checkpoint, changes)


def create_record(document: Any) -> dict[str, Any]:
    return {CREATE: {"type": JSON0_URI, "data": document}}


def create_op(document: Any) -> JsonOp:
    return [{"p": [], "oi": document}]


def create_inverse(document: Any) -> JsonOp:
    return [{"p": [], "od": document}]


def created_document(operation: Any) -> Any:
    """The document a stored create record carries."""
    return operation[CREATE].get("data")


def is_create_record(operation: Any) -> bool:
    return isinstance(operation, dict) and isinstance(operation.get(CREATE), dict)


def as_json0(operation: Any) -> JsonOp:
    """The stored ``operation`` column as a json0 op (see the module docstring for creates)."""
    if is_create_record(operation):
        return create_op(created_document(operation))
    if not isinstance(operation, list):
        raise ReplayFailed(f"stored operation is neither a json0 op nor a create: {operation!r}")
    return operation


def replay(document: Any, ops: Iterable[JsonOp], *, first_version: int = 0) -> Any:
    """Apply ``ops`` in order to ``document`` (not mutated) and return the result.

    The ops are applied as one concatenated json0 op, which is equivalent (json0 applies
    components in order) and copies the document once instead of once per op.
    """
    combined: JsonOp = [component for op in ops for component in op]
    if not combined:
        return document
    try:
        return json0.apply(document, combined)
    except OTError as exc:
        raise ReplayFailed(f"replaying from version {first_version} failed: {exc.message}") from exc
