"""An offline client's state merged into the live dashboard as one op: :func:`sync`.

The client sends what it has now, the whole document or a patch
(:func:`ot.dashboard.patch.apply_patch`), with the version it started from. :func:`sync` loads
every op committed since that version and the snapshot there, merges
(:func:`ot.dashboard.merge.merge`: the client's changes as json0, text by character,
transformed past the server's, conflicting paths resolved by the strategy) and submits the
result as ONE op through the sequencer (:meth:`Hub.submit`, a submit record as a socket's op
makes), like any
editor's op: live editors see it as a normal edit, it is fenced, versioned and audited.

When the head moves between the merge and the commit, the sequencer transforms the op past
what came in between; if it no longer fits (a widget it changes was removed meanwhile) the
merge is redone from the new head, up to :data:`ATTEMPTS` times.

Retries: the caller passes a submitter id (``src``) that is the same for every attempt of
one logical request, and a place to record a plan (the resolutions the answer will carry)
before the op is submitted. An attempt that takes over from an earlier one (``plan`` is what
that one recorded, ``{}`` for nothing) looks the op up by that submitter id first; if it
committed, the answer is rebuilt from it and the plan, and nothing is applied again. So a plan
without resolutions, which is what a retry assumes when it finds none, is not recorded (unless
it replaces one recorded before): a sync that resolved nothing costs no write for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ot.dashboard.export import error_path
from ot.dashboard.merge import Merge, merge
from ot.dashboard.patch import apply_patch
from ot.errors import DocumentError
from server.core.codes import Code
from server.core.errors import (
    InvalidDocument,
    SyncBaseAhead,
    SyncBaseExpired,
    SyncConflict,
    TandemError,
)
from server.core.ids import DashboardId, UserId
from server.core.submission import Hub, SubmitRecord
from server.store.history import VersionNotFound
from server.store.model import JsonOp

ATTEMPTS = 3
SEQ = 1  # every attempt of one request submits as (src, 1)
# Refusals of the sequencer that a merge against the newer head can cure.
_RETRIED = (Code.APPLY_FAILED, Code.INVALID_DOCUMENT, Code.INVALID_PATH)

Path = tuple[str | int, ...]
FindOp = Callable[[DashboardId, str, int], Awaitable[int | None]]
RecordPlan = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class SyncRequest:
    dashboard: DashboardId
    user: UserId
    base_version: int
    strategy: str
    document: dict[str, Any] | None = None  # exactly one of document and changes
    changes: dict[str, Any] | None = None
    changed_at: Mapping[Path, float] = field(default_factory=dict)  # epoch seconds


@dataclass(frozen=True)
class SyncResult:
    version: int  # the dashboard's version once the sync's op applied (or the head: no op)
    document: Any  # the document at that version
    resolutions: list[dict[str, Any]]  # [{path, resolution}]
    # The answer of the op submitted as (src, SEQ), committed after its plan (if it needed one)
    # was recorded, by this call or an earlier attempt: a retry with that src answers the same.
    rebuildable: bool = False


def json_path(path: list[str | int], root: str) -> str:
    """``$.document.widgets.w1.position.x`` (``[n]`` for list indexes)."""
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def invalid(error: DocumentError, root: str = "$.document") -> InvalidDocument:
    path, problem = error_path(error)
    if path[:1] == ["changes"]:  # apply_patch names paths in the patch
        root = "$"
    where = json_path(path, root)
    return InvalidDocument(f"{where}: {problem}", [{"path": where, "message": problem}])


async def _merge(hub: Hub, request: SyncRequest) -> tuple[int, Merge]:
    """The merge against the head as it is now, and that head's version."""
    d = request.dashboard
    try:
        if request.changed_at:
            since = await hub.ops_since(d, request.base_version)
            head = None
        else:
            # No client times, so no op's time matters: the head's document stands for the
            # ops since. While this process sequences the dashboard its holder has the head in
            # memory; else it is a checkpoint and a short replay, not the whole tail of the log.
            head = hub.held_snapshot(d)
            if head is None or head.version < request.base_version:
                head = await hub.snapshot(d)
        if head is not None and head.version == request.base_version:
            base = head  # a client that was up to date: nothing to merge with
        else:
            base = await hub.snapshot(d, version=request.base_version)
    except VersionNotFound as exc:
        raise SyncBaseAhead(f"base_version {request.base_version} is past the head") from exc
    except TandemError as exc:
        if exc.code != Code.VERSION_UNAVAILABLE:
            raise
        raise SyncBaseExpired(
            f"version {request.base_version} is older than the log kept: fetch the dashboard,"
            " redo your changes on its document and sync with its version as the base"
        ) from exc
    try:
        if request.document is not None:
            local = request.document
        else:
            local = apply_patch(base.document, request.changes or {})
    except DocumentError as exc:
        raise invalid(exc) from exc
    if head is not None:
        if head.version < request.base_version:
            raise SyncBaseAhead(f"base_version {request.base_version} is past the head")
        remote: list[JsonOp] = []  # the head's document says it all
        times: list[float] = []
        head_version = head.version
        head_document = head.document
    else:
        ops = [c for c in since if c.op is not None]
        remote = [c.op for c in ops if c.op is not None]
        times = [c.created_at.timestamp() if c.created_at else 0.0 for c in ops]
        head_version = request.base_version + len(since)
        head_document = None
    try:
        result = merge(
            base.document, local, remote, request.strategy, head=head_document,
            local_valid=request.document is None,
            changed_at=request.changed_at, remote_changed_at=times if head is None else None,
        )  # fmt: skip
    except DocumentError as exc:
        raise invalid(exc) from exc
    return head_version, result


def _one_off_src() -> str:
    """A submitter id for a sync without an Idempotency-Key (no retry will come for it)."""
    return f"api:sync:{secrets.token_hex(12)}"


async def sync(
    hub: Hub,
    request: SyncRequest,
    *,
    src: str | None = None,
    plan: Any = None,
    record_plan: RecordPlan | None = None,
    find_op: FindOp | None = None,
) -> SyncResult:
    """Merge and submit ``request``; see the module docstring. Raises SyncConflict (manual,
    conflicts found), SyncBaseExpired, SyncBaseAhead, InvalidDocument, or what the hub
    raises."""
    d = request.dashboard
    if src is not None and find_op is not None and isinstance(plan, dict):
        version = await find_op(d, src, SEQ)
        if version is not None:  # an earlier attempt committed, then died before answering
            done = await hub.snapshot(d, version=version + 1)
            resolved = list(plan.get("resolutions", []))
            return SyncResult(version + 1, done.document, resolved, True)
    recorded = plan  # what a retry would find now
    for attempt in range(ATTEMPTS):
        head_version, result = await _merge(hub, request)
        if result.conflicts:
            raise SyncConflict([c.as_json() for c in result.conflicts])
        resolutions = [r.as_json() for r in result.resolutions]
        if not result.op:
            return SyncResult(head_version, result.document, resolutions)
        if record_plan is not None and (resolutions or recorded):
            recorded = {"resolutions": resolutions}
            await record_plan(recorded)
        try:
            committed = await hub.submit(
                SubmitRecord(
                    dashboard_id=d, src=src or _one_off_src(), seq=SEQ, version=head_version,
                    user_id=request.user, op=result.op,
                )
            )  # fmt: skip
        except TandemError as exc:
            if attempt + 1 < ATTEMPTS and exc.code in _RETRIED:
                continue
            raise
        keyed = record_plan is not None  # a retry of this request finds the op and the plan
        if committed.version == head_version:
            return SyncResult(head_version + 1, result.document, resolutions, keyed)
        done = await hub.snapshot(d, version=committed.version + 1)
        return SyncResult(committed.version + 1, done.document, resolutions, keyed)
    raise AssertionError("unreachable: the last attempt returns or raises")
