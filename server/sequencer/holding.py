"""Sequencing one dashboard: drain its Redis queue in batches while holding its lock.

One :class:`Sequencer` lives for one acquisition of the lock (a :class:`Holding`). It first
bumps the dashboard's ``lock_epoch`` (the fencing token) and loads the head, then keeps the
document and the recent ops in memory, so a batch costs one PostgreSQL round trip. Each record
is sequenced by the pure rules of :mod:`server.sequencer.batch`; this module does their I/O
(ops older than its memory, a resubmit's original version) and the batch's commit.

The batch commits in one fenced transaction; only then do its records leave the queue (a trim
that checks the lock token) and the outcome is published. A fence failure means another process
holds the lock now: nothing of the batch is answered, and the new holder re-drains and dedups.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any, cast

from ot import json0
from ot.errors import OTError
from server.access.cache import GENERATION_MS
from server.core import log, metrics
from server.core.codes import Code
from server.core.errors import BadData, Conflict, NotFound, StaleFence, TandemError
from server.core.submission import Committed, SubmitRecord
from server.sequencer.batch import (
    Batch,
    Checked,
    Refusal,
    begin_create,
    check_base,
    committed,
    find_duplicate,
    memory_start,
    sequence,
    window,
)
from server.sequencer.plant import Holding, Memory
from server.sequencer.records import (
    BatchOutcome,
    committed_from_stored,
    decode_record,
    encode_outcome,
)
from server.sequencer.size import SizeBound

_log = log.get(__name__)


class Sequencer:
    """Drains one dashboard's queue for as long as one acquisition of its lock lasts."""

    def __init__(self, holding: Holding) -> None:
        plant = holding.plant
        self._redis = plant.redis
        self._store = plant.store
        self._settings = plant.settings
        self._deliver = plant.deliver
        self._origin = plant.origin
        self._dashboard_id = holding.dashboard_id
        self._queue = plant.keys.queue(holding.dashboard_id)
        self._channel = plant.keys.ops_channel(holding.dashboard_id)
        # A commit changes the dashboard's head, title or description: its cached metadata goes.
        self._stale = (
            plant.keys.cache_meta(holding.dashboard_id),
            plant.keys.cache_change(holding.dashboard_id),
            GENERATION_MS,
        )
        self._lock = holding.lock
        self._stopping = holding.stopping
        self._memory = holding.memory
        self._nudge = holding.nudge
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
        self._size = SizeBound(self._settings.max_document_bytes)
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
            ours, self.left = await asyncio.shield(self._lock.release_counting(self._queue))
            # Gone before the release (expired while this process stood still): lost, fenced or not.
            self.lost = self.lost or not ours

    async def _linger(self, idle_since: float) -> bool:
        """Keep the lock a moment once the queue is empty, so the clients' next ops cost no
        new lock, fence and release; every push nudges the holder (a nudge lost to a pub/sub
        reconnect only delays its records to the release, which counts the queue). Nothing
        correct rests on the lock (:meth:`Lock.settle`). False: time to let go."""
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

    def head(self) -> tuple[int, Any] | None:
        """The committed head this holder goes on from while it holds the lock, else None."""
        if self.lost or not self._exists:
            return None
        return self._version, self._document

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
            batch.refuse(only.src, only.seq, exc.code, exc.message)
            settled = await asyncio.shield(self._finish(consumed, batch, started))
            self._single_steps = max(0, self._single_steps - consumed)
            return settled

    def _new_batch(self) -> Batch:
        return Batch(self._dashboard_id, self._version, self._document, self._exists)

    async def _finish(
        self, consumed: int, batch: Batch, started: float
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
            stale=self._stale,
        )
        if not held and not committed:
            return False, None
        self._accept(batch)
        if outcome:
            await self._deliver(outcome)
        if batch.committed:
            metrics.OPS_COMMITTED.inc(len(batch.committed))
            metrics.BATCH_OPS.observe(len(batch.committed))
        if batch.duplicates:
            metrics.OPS_DEDUPLICATED.inc(len(batch.duplicates))
        metrics.BATCH_COMMIT_SECONDS.observe(time.perf_counter() - started)
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

    async def _commit(self, batch: Batch) -> bool | None:
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
            metrics.FENCE_REFUSALS.inc()
            _log.warning("op.batch_fenced", dashboard=str(self._dashboard_id))
            return None
        return True

    async def _commit_create(self, batch: Batch, record: SubmitRecord) -> bool:
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
            batch.refuse(
                record.src, record.seq, Code.ALREADY_CREATED, "the dashboard already exists"
            )
            return False
        # The dashboard did not exist when this holder took the fence: take it now.
        self._epoch = await self._store.acquire_epoch(self._dashboard_id)
        return True

    def _accept(self, batch: Batch) -> None:
        self._version = batch.version
        self._document = batch.document
        self._exists = batch.exists
        self._recent.extend(batch.committed)
        self._checked.extend(batch.checked)
        del self._recent[: -self._settings.hold_recent_ops]
        del self._checked[: -self._settings.hold_recent_ops]

    async def _sequence(self, raw: bytes, batch: Batch) -> None:
        try:
            record = decode_record(self._dashboard_id, raw)
        except ValueError as exc:
            # Only our own code writes the queue; a record it cannot read is dropped, loudly.
            _log.error("op.record_unreadable", dashboard=str(self._dashboard_id), error=str(exc))
            return
        try:
            if record.delete:
                raise Refusal(
                    Code.FORBIDDEN, "a dashboard is archived through the HTTP API, not deleted"
                )
            if record.create is not None:
                await self._create(record, batch)
            else:
                await self._apply(record, batch)
        except (Refusal, OTError) as exc:
            batch.refuse(record.src, record.seq, Code.of(exc.code), exc.message)
        except TandemError:
            raise  # the store failed, not the op: the batch is retried as a whole
        except Exception:
            # An op that trips a bug in the OT code must not block the queue behind it: this
            # is the outermost point for one record, so it is logged and rejected alone.
            _log.exception("op.failed", dashboard=str(self._dashboard_id))
            batch.refuse(record.src, record.seq, Code.INTERNAL_ERROR, "the op could not be applied")

    async def _apply(self, record: SubmitRecord, batch: Batch) -> None:
        check_base(record, batch)
        since = await self._ops_since(record, batch)
        if since is not None:
            sequence(record, batch, since, datetime.now(UTC), self._size)

    async def _ops_since(self, record: SubmitRecord, batch: Batch) -> list[Checked] | None:
        """The checked ops from the record's base version to the batch head; None when it is
        a resubmit (then it has been answered with its original version)."""
        found = window(record, batch, self._recent, self._checked)
        if found is None:
            start = memory_start(batch, self._recent)
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
            found = (
                older + self._recent + batch.committed,
                [None if c.op is None else json0.check(c.op) for c in older]
                + self._checked
                + batch.checked,
            )
        since, checked = found
        duplicate = find_duplicate(record, since)
        if duplicate is not None:
            batch.duplicates.append(duplicate)
            return None
        return checked

    async def _unavailable(self, record: SubmitRecord, batch: Batch) -> None:
        version = await self._store.find_op(self._dashboard_id, record.src, record.seq)
        if version is None:
            raise Refusal(Code.VERSION_UNAVAILABLE, f"version {record.version} is no longer kept")
        batch.duplicates.append(committed(record, version))

    async def _create(self, record: SubmitRecord, batch: Batch) -> None:
        assert record.create is not None
        if not batch.exists:
            begin_create(record, batch, datetime.now(UTC))
            return
        version = await self._store.find_op(self._dashboard_id, record.src, record.seq)
        if version is None:
            raise Refusal(Code.ALREADY_CREATED, "the dashboard already exists")
        batch.duplicates.append(committed(record, version, create=record.create))
