"""Sequencing one dashboard: drain its Redis queue in batches while holding its lock.

One :class:`Sequencer` lives for one acquisition of the lock. It first bumps the dashboard's
``lock_epoch`` (the fencing token) and loads the head, then keeps the document and the recent
ops in memory, so a batch costs one PostgreSQL round trip. For each record of a batch, in queue
order (as ShareDB's server does for each submit):

1. a resubmit of an op already in the log (same ``src``/``seq`` at or after the record's base
   version) is answered with the original version and not applied again;
2. a base version beyond the head is rejected (``op_from_future``), one below the retained log
   ``version_unavailable``;
3. the op is transformed (``left``) against every op committed since its base version; a
   domain op is built against the head instead;
4. it is applied; an op that fails, or leaves an invalid dashboard, is rejected alone.

The batch commits in one fenced transaction; only then do its records leave the queue (a trim
that checks the lock token) and the outcome is published. A fence failure means another process
holds the lock now: nothing of the batch is answered, and the new holder re-drains and dedups.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from ot import dashboard, json0
from ot.errors import OTError
from server.core import log
from server.core.codes import Code
from server.core.errors import BadData, Conflict, NotFound, StaleFence, TandemError
from server.core.ids import DashboardId
from server.core.settings import Settings
from server.core.submission import Committed, Rejected, SubmitRecord
from server.redis.keys import Keys
from server.redis.resp import Resp
from server.sequencer.lock import Lock
from server.sequencer.records import (
    BatchOutcome,
    committed_from_stored,
    decode_record,
    encode_outcome,
)
from server.sequencer.size import SizeBound
from server.store.model import JsonOp, NewOp, OpLog

_log = log.get(__name__)

Deliver = Callable[[BatchOutcome], Awaitable[None]]


@dataclass
class _Batch:
    """The working state of one batch: becomes the sequencer's state only after COMMIT."""

    version: int
    document: Any
    exists: bool
    create: SubmitRecord | None = None  # a create ends its batch: it commits on its own
    ops: list[NewOp] = field(default_factory=list)
    committed: list[Committed] = field(default_factory=list)
    checked: list[json0.CheckedOp | None] = field(default_factory=list)  # each committed's op
    duplicates: list[Committed] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass
class Memory:
    """What a sequencer knew when it let go of the lock, so that the next acquisition by this
    process can go on from it instead of loading the head again (see :meth:`Sequencer._open`)."""

    epoch: int
    version: int
    document: Any
    recent: list[Committed]
    checked: list[json0.CheckedOp | None]


class _Reject(Exception):
    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Sequencer:
    """Drains one dashboard's queue for as long as one acquisition of its lock lasts."""

    def __init__(
        self,
        *,
        redis: Resp,
        keys: Keys,
        store: OpLog,
        settings: Settings,
        dashboard_id: DashboardId,
        lock: Lock,
        deliver: Deliver,
        stopping: Callable[[], bool] = lambda: False,
        memory: Memory | None = None,
        origin: str = "",
        nudge: asyncio.Event | None = None,
    ) -> None:
        self._redis = redis
        self._store = store
        self._settings = settings
        self._dashboard_id = dashboard_id
        self._queue = keys.queue(dashboard_id)
        self._channel = keys.ops_channel(dashboard_id)
        self._lock = lock
        self._deliver = deliver
        self._stopping = stopping
        self._memory = memory
        self._origin = origin
        self._nudge = nudge
        self._epoch = 0
        self._exists = False
        self._version = 0
        self._document: Any = None
        self._recent: list[Committed] = []  # versions [version - len(recent), version)
        # Their ops, validated once when committed: transforms against them skip validation.
        self._checked: list[json0.CheckedOp | None] = []
        # After a batch the store refused as a whole (BadData), go one record at a time so the
        # record it refuses is rejected alone instead of blocking the queue.
        self._single_steps = 0
        self._size = SizeBound(settings.max_document_bytes)
        self.lost = False  # the lock (or the fence) was lost while draining
        self.left: int | None = None  # records queued when the lock was released

    async def drain(self) -> None:
        """Drain until the queue is empty or the lock is lost; the lock is released at the end."""
        try:
            await self._open()
            raws: list[bytes] | None = None
            idle_since: float | None = None
            while not self._stopping():
                if raws is None:
                    if self._nudge is not None:
                        self._nudge.clear()  # a push from now on nudges again
                    raws = cast(
                        list[bytes],
                        await self._redis.call("LRANGE", self._queue, 0, self._limit() - 1),
                    )
                if not raws:
                    idle_since = idle_since or time.monotonic()
                    if not await self._linger(idle_since):
                        return
                    raws = None
                    continue
                idle_since = None
                if self._nudge is not None:
                    self._nudge.clear()  # what is pushed from now on is seen by a later read
                held, raws = await self._run_batch(raws)
                if not held:
                    self.lost = True
                    return
                if raws is None and not await self._lock.extend():
                    self.lost = True
                    return
        finally:
            # Shielded: a hub shutting down should not leave the lock to expire on its own.
            self.left = await asyncio.shield(self._lock.release_counting(self._queue))

    async def _linger(self, idle_since: float) -> bool:
        """Keep the lock a moment once the queue is empty: the next records (the next ops of
        the clients just answered) then cost no new lock, fence and release. Every push nudges
        the holder: this process's directly, another's through this process's private channel
        (a nudge lost with a pub/sub reconnect only delays its records to the release, which
        counts what is queued). The lock still orders nothing that correctness rests on: a
        holding that outlives its lock publishes no answer that its commit did not fence (see
        :meth:`Lock.settle`). False: time to let go."""
        left = self._settings.hold_linger - (time.monotonic() - idle_since)
        if self._nudge is None or left <= 0:
            return False
        if not self._nudge.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._nudge.wait()
        return True

    def _limit(self) -> int:
        return 1 if self._single_steps > 0 else self._settings.batch_size

    async def _open(self) -> None:
        self._size.forget()
        try:
            head = await self._store.take_head(self._dashboard_id)
        except NotFound:
            self._exists = False
            return
        self._epoch = head.lock_epoch
        self._exists = True
        memory = self._memory
        if memory is not None and (memory.epoch + 1, memory.version) == (
            head.lock_epoch,
            head.version,
        ):
            # Nobody took the fence since this process last held it (every holder bumps the
            # epoch) and nothing was committed: what it had in memory is still the head.
            self._version, self._document = memory.version, memory.document
            self._recent, self._checked = memory.recent, memory.checked
            return
        snapshot = await self._store.load(self._dashboard_id)
        self._version = snapshot.version
        self._document = snapshot.document

    def memory(self) -> Memory | None:
        """What to resume from next time; None when this holding ended badly (lost)."""
        if self.lost or not self._exists:
            return None
        # Only the latest ops: a released dashboard is kept by many, and older ones are read
        # from the store when a late submit needs them.
        keep = self._settings.hold_memory_ops
        return Memory(
            self._epoch,
            self._version,
            self._document,
            self._recent[-keep:] if keep else [],
            self._checked[-keep:] if keep else [],
        )

    async def _run_batch(self, raws: list[bytes]) -> tuple[bool, list[bytes] | None]:
        """Sequence, commit, trim, publish one batch. Returns False when this holder is stale,
        and the next batch's records when they were read along (None: read them, and extend
        the lock, separately)."""
        started = time.perf_counter()
        batch = self._new_batch()
        consumed = 0
        for raw in raws:
            consumed += 1
            await self._sequence(raw, batch)
            if batch.create is not None:
                break
        try:
            # Shielded: once the commit is under way, the trim and the publish must follow it,
            # or the committed ops would be acknowledged late (by the next holder's dedup).
            settled = await asyncio.shield(self._finish(consumed, batch, started))
            self._single_steps = max(0, self._single_steps - consumed)
            return settled
        except BadData as exc:
            self._size.forget()
            if consumed > 1:
                self._single_steps = consumed
                _log.warning("op.batch_refused", dashboard=str(self._dashboard_id), error=exc.code)
                return True, None
            if not batch.committed:
                raise
            only = batch.committed[0]
            batch = self._new_batch()
            batch.rejected.append(self._rejected(only.src, only.seq, exc.code, exc.message))
            settled = await asyncio.shield(self._finish(consumed, batch, started))
            self._single_steps = max(0, self._single_steps - consumed)
            return settled

    def _new_batch(self) -> _Batch:
        return _Batch(version=self._version, document=self._document, exists=self._exists)

    async def _finish(
        self, consumed: int, batch: _Batch, started: float
    ) -> tuple[bool, list[bytes] | None]:
        committed = await self._commit(batch)
        if committed is None:
            return False, None
        outcome = BatchOutcome(
            dashboard_id=self._dashboard_id,
            committed=tuple(batch.committed),
            duplicates=tuple(batch.duplicates),
            rejected=tuple(batch.rejected),
        )
        # Trim, extend, publish and read the next batch in one round trip. Without the lock and
        # with nothing committed, nothing is published: the answers may rest on a stale head, so
        # they are all left to the new holder.
        held, raws = await self._lock.settle(
            self._queue,
            consumed,
            channel=self._channel,
            message=encode_outcome(outcome, self._origin) if outcome else b"",
            committed=committed,
            next_batch=self._limit(),
        )
        if not held and not committed:
            return False, None
        self._accept(batch)
        if outcome:
            await self._deliver(outcome)
        _log.info(
            "op.batch_committed",
            dashboard=str(self._dashboard_id),
            count=len(batch.committed),
            first=batch.committed[0].version if batch.committed else None,
            last=batch.committed[-1].version if batch.committed else None,
            duplicates=len(batch.duplicates),
            rejected=len(batch.rejected),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return held, raws

    async def _commit(self, batch: _Batch) -> bool | None:
        """Write the batch: True when something was written, None when the fence failed."""
        if batch.create is not None:
            return await self._commit_create(batch, batch.create)
        if not batch.ops:
            return False
        try:
            await self._store.commit(
                self._dashboard_id,
                base_version=self._version,
                epoch=self._epoch,
                ops=batch.ops,
                document=batch.document,
            )
        except StaleFence:
            _log.warning("op.batch_fenced", dashboard=str(self._dashboard_id))
            return None
        return True

    async def _commit_create(self, batch: _Batch, record: SubmitRecord) -> bool:
        # The store records the create's (src, seq), so a resent create is recognised.
        try:
            await self._store.create_dashboard(
                owner_id=record.user_id,
                title=batch.document["title"],
                document=batch.document,
                dashboard_id=self._dashboard_id,
                src=record.src,
                seq=record.seq,
            )
        except Conflict:
            # Created by someone else meanwhile (over HTTP, say): answer like ShareDB does.
            batch.create = None
            batch.committed.clear()
            batch.checked.clear()
            batch.version, batch.document, batch.exists = self._version, self._document, True
            batch.rejected.append(
                self._rejected(
                    record.src, record.seq, Code.ALREADY_CREATED, "the dashboard already exists"
                )
            )
            return False
        # The dashboard did not exist when this holder took the fence: take it now.
        self._epoch = await self._store.acquire_epoch(self._dashboard_id)
        return True

    def _accept(self, batch: _Batch) -> None:
        self._version = batch.version
        self._document = batch.document
        self._exists = batch.exists
        self._recent.extend(batch.committed)
        self._checked.extend(batch.checked)
        del self._recent[: -self._settings.hold_recent_ops]
        del self._checked[: -self._settings.hold_recent_ops]

    async def _sequence(self, raw: bytes, batch: _Batch) -> None:
        try:
            record = decode_record(self._dashboard_id, raw)
        except ValueError as exc:
            # Only our own code writes the queue; a record it cannot read is dropped, loudly.
            _log.error("op.record_unreadable", dashboard=str(self._dashboard_id), error=str(exc))
            return
        try:
            if record.delete:
                raise _Reject(
                    Code.FORBIDDEN, "a dashboard is archived through the HTTP API, not deleted"
                )
            if record.create is not None:
                await self._create(record, batch)
            else:
                await self._apply(record, batch)
        except (_Reject, OTError) as exc:
            batch.rejected.append(
                self._rejected(record.src, record.seq, Code.of(exc.code), exc.message)
            )
        except TandemError:
            raise  # the store failed, not the op: the batch is retried as a whole
        except Exception:
            # An op that trips a bug in the OT code must not block the queue behind it: this
            # is the outermost point for one record, so it is logged and rejected alone.
            _log.exception("op.failed", dashboard=str(self._dashboard_id))
            batch.rejected.append(
                self._rejected(
                    record.src, record.seq, Code.INTERNAL_ERROR, "the op could not be applied"
                )
            )

    async def _apply(self, record: SubmitRecord, batch: _Batch) -> None:
        if not batch.exists:
            raise _Reject(Code.NOT_FOUND, "the dashboard does not exist")
        if record.version > batch.version:
            raise _Reject(Code.OP_FROM_FUTURE, f"version {record.version} is beyond the head")
        if record.version < 1:
            raise _Reject(Code.ALREADY_CREATED, "the dashboard was created by someone else")
        since = await self._ops_since(record, batch)
        if since is None:
            return
        if record.dop is not None:
            checked = json0.check(dashboard.build_all(batch.document, record.dop))
        elif record.op is not None:
            checked = json0.check(record.op)
            for other in since:
                if other is not None:
                    checked = json0.transform(checked, other, "left")
        else:
            raise _Reject(Code.INVALID_OP, "the submit carries no op")
        document, inverse = json0.apply_and_invert(batch.document, checked)
        # Only what the op touched: the document before it was valid. Both take the checked
        # op as it is, without validating it again.
        dashboard.validate_after(document, checked)
        if not self._size.fits(document, checked.op):
            raise _Reject(
                Code.DOCUMENT_TOO_LARGE,
                f"the dashboard would be larger than {self._size.limit} bytes",
            )
        operation_type, target_id = dashboard.classify(checked)
        op = checked.op
        self._append(batch, record, checked, op, inverse, document, operation_type, target_id)

    async def _ops_since(
        self, record: SubmitRecord, batch: _Batch
    ) -> list[json0.CheckedOp | None] | None:
        """The ops from the record's base version to the batch head (None for a create); None
        when it is a resubmit (then it has been answered with its original version)."""
        recent, pending = self._recent, batch.committed
        start = batch.version - len(recent) - len(pending)
        if record.version >= start:
            offset = record.version - start
            cut = max(0, offset - len(recent))
            since = recent[offset:] + pending[cut:]
            checked = self._checked[offset:] + batch.checked[cut:]
        else:
            try:
                stored = await self._store.ops_between(self._dashboard_id, record.version, start)
            except TandemError as exc:
                if exc.code != Code.VERSION_UNAVAILABLE:
                    raise
                await self._unavailable(record, batch)
                return None
            if not stored or stored[0].version != record.version:
                await self._unavailable(record, batch)
                return None
            older = [committed_from_stored(s) for s in stored]
            since = older + recent + pending
            checked = (
                [None if c.op is None else json0.check(c.op) for c in older]
                + self._checked
                + batch.checked
            )
        for committed in since:
            if record.src and committed.src == record.src and committed.seq == record.seq:
                batch.duplicates.append(committed)
                return None
        return checked

    async def _unavailable(self, record: SubmitRecord, batch: _Batch) -> None:
        version = await self._store.find_op(self._dashboard_id, record.src, record.seq)
        if version is None:
            raise _Reject(Code.VERSION_UNAVAILABLE, f"version {record.version} is no longer kept")
        batch.duplicates.append(self._committed(record, version))

    async def _create(self, record: SubmitRecord, batch: _Batch) -> None:
        assert record.create is not None
        if batch.exists:
            version = await self._store.find_op(self._dashboard_id, record.src, record.seq)
            if version is None:
                raise _Reject(Code.ALREADY_CREATED, "the dashboard already exists")
            batch.duplicates.append(self._committed(record, version, create=record.create))
            return
        document = record.create.get("data")
        dashboard.validate_document(document)
        batch.create = record
        batch.committed.append(
            self._committed(record, 0, create=record.create, created_at=datetime.now(UTC))
        )
        batch.checked.append(None)
        batch.version = 1
        batch.document = document
        batch.exists = True

    def _append(
        self,
        batch: _Batch,
        record: SubmitRecord,
        checked: json0.CheckedOp,
        op: JsonOp,
        inverse: JsonOp,
        document: Any,
        operation_type: str,
        target_id: str | None,
    ) -> None:
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
            )
        )
        # Stamped with this clock: the log's own created_at is only known to later readers.
        batch.committed.append(
            self._committed(record, batch.version, op=op, created_at=datetime.now(UTC))
        )
        batch.checked.append(checked)
        batch.version += 1
        batch.document = document

    def _committed(self, record: SubmitRecord, version: int, **fields: Any) -> Committed:
        return Committed(
            dashboard_id=self._dashboard_id,
            version=version,
            src=record.src,
            seq=record.seq,
            user_id=record.user_id,
            **fields,
        )

    def _rejected(self, src: str, seq: int, code: Code, message: str) -> Rejected:
        return Rejected(
            dashboard_id=self._dashboard_id, src=src, seq=seq, code=code, message=message
        )
