"""One dashboard's committed ops, delivered to this process's listeners in order and without gaps.

Pub/sub is at-most-once, so every batch message carries versions and the feed keeps the next
version it owes its listeners. A message that starts beyond it makes the feed read the missing
ops from the log first; versions it has already delivered are dropped. Every (re)subscription
confirmed by Redis triggers a catch-up too, since messages may have been lost while the
subscription was down. Submitters wait on the same stream, so an op is acknowledged only once
it is in the log and after every earlier op was delivered.

All deliveries happen in one task per feed, fed by an inbox: items are batch outcomes (from
pub/sub or from this process's own sequencer), catch-up requests and late joins.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from server.core import log
from server.core.errors import NotFound, TandemError
from server.core.ids import DashboardId
from server.core.retry import raise_if_cancelled
from server.core.submission import Committed, OpListener, Rejected
from server.sequencer.records import BatchOutcome, committed_from_stored
from server.store.model import OpLog

_log = log.get(__name__)


class _CatchUp:
    """Inbox item: read the log from the next owed version to the head."""


CATCH_UP = _CatchUp()


@dataclass(frozen=True)
class _Join:
    """Inbox item: a listener that wants every op from ``start`` on."""

    key: int
    listener: OpListener
    start: int


@dataclass(frozen=True)
class Resolver:
    """What the hub does with outcomes that concern its own submitters."""

    committed: Callable[[Committed], None]
    rejected: Callable[[Rejected], None]
    waiting: Callable[[], bool]


class Feed:
    def __init__(
        self,
        *,
        dashboard_id: DashboardId,
        store: OpLog,
        resolver: Resolver,
        poll_interval: float,
        recent_ops: int,
        from_version: int | None = None,
    ) -> None:
        self.dashboard_id = dashboard_id
        self._store = store
        self._resolver = resolver
        self._poll_interval = poll_interval
        self._inbox: asyncio.Queue[BatchOutcome | _CatchUp | _Join] = asyncio.Queue()
        self._listeners: dict[int, tuple[OpListener, int]] = {}
        self._joining: set[int] = set()
        self._retry: list[_Join] = []  # joins that failed (store down), retried on catch-up
        self._next_key = 0
        self.users = 0  # submitters and presence publishers that need the stream
        self.next_version: int | None = from_version
        self.recent: deque[Committed] = deque(maxlen=recent_ops)
        self.ready = asyncio.Event()  # subscribed, and caught up once
        self._behind = False
        self._task = asyncio.create_task(self._run(), name=f"feed:{dashboard_id}")

    @property
    def idle(self) -> bool:
        return not self._listeners and not self._joining and self.users == 0

    def add(self, listener: OpListener, from_version: int | None) -> int:
        key = self._next_key
        self._next_key += 1
        if from_version is None:
            self._listeners[key] = (listener, 0)
        else:
            self._joining.add(key)
            self._inbox.put_nowait(_Join(key, listener, from_version))
        return key

    def remove(self, key: int) -> None:
        self._listeners.pop(key, None)
        self._joining.discard(key)

    def offer(self, item: BatchOutcome | _CatchUp) -> None:
        self._inbox.put_nowait(item)

    def recent_from(self, version: int) -> list[Committed] | None:
        """Delivered ops from ``version`` to the feed's head, if all are still in memory."""
        if self.next_version is None or version > self.next_version:
            return None
        first = self.recent[0].version if self.recent else self.next_version
        if version < first:
            return None
        return [c for c in self.recent if c.version >= version]

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        if self.next_version is None:
            # Right away, not at the first message: "from now on" means from about now.
            with contextlib.suppress(TandemError):
                self.next_version = await self._head()
        while True:
            item = await self._take()
            try:
                await self._handle(item)
            except Exception as exc:
                # The outermost point of the feed's task. The store is down or lagging, most
                # likely: catch up on the next poll, and retry a join that did not happen.
                raise_if_cancelled(exc)
                self._behind = True
                if isinstance(item, _Join):
                    self._retry.append(item)
                if isinstance(exc, TandemError):
                    _log.warning("feed.behind", dashboard=str(self.dashboard_id), error=exc.code)
                else:
                    _log.exception("feed.failed", dashboard=str(self.dashboard_id))
            raise_if_cancelled()  # a cancel a library swallowed on the way

    async def _handle(self, item: BatchOutcome | _CatchUp | _Join) -> None:
        if self.next_version is None:
            self.next_version = await self._head()
        if isinstance(item, _CatchUp):
            await self._catch_up(None)
            self.ready.set()
            while self._retry:
                await self._join(self._retry[0])
                self._retry.pop(0)
        elif isinstance(item, _Join):
            await self._join(item)
        else:
            await self._ingest(item)

    async def _take(self) -> BatchOutcome | _CatchUp | _Join:
        if not (self._behind or self._resolver.waiting()):
            return await self._inbox.get()
        # Someone waits for an ack: poll the log now and then, in case its message was lost.
        # A timer that posts a catch-up (cheaper on this per-message path than a timeout
        # context, and a catch-up that arrives late only reads the log once more).
        if not self._inbox.empty():
            return self._inbox.get_nowait()
        timer = asyncio.get_running_loop().call_later(
            self._poll_interval, self._inbox.put_nowait, CATCH_UP
        )
        try:
            return await self._inbox.get()
        finally:
            timer.cancel()

    async def _head(self) -> int:
        try:
            head = await self._store.get_head(self.dashboard_id)
        except NotFound:
            return 0
        return head.version

    async def _ingest(self, outcome: BatchOutcome) -> None:
        for rejected in outcome.rejected:
            self._resolver.rejected(rejected)
        for committed in outcome.committed:
            assert self.next_version is not None
            if committed.version > self.next_version:
                await self._catch_up(committed.version)
            if committed.version == self.next_version:
                await self._deliver(committed)
            elif committed.version > self.next_version:
                self._behind = True  # the log does not show it yet (a lagging replica)
        for duplicate in outcome.duplicates:
            assert self.next_version is not None
            if duplicate.version < self.next_version:
                self._resolver.committed(duplicate)
            else:
                # Committed by a holder that died before publishing: read it from the log, and
                # the stream resolves its submitter.
                await self._catch_up(None)

    async def _catch_up(self, until: int | None) -> None:
        assert self.next_version is not None
        try:
            stored = await self._store.ops_between(self.dashboard_id, self.next_version, until)
        except NotFound:
            return  # not created yet: its create will be version 0
        for op in stored:
            if op.version == self.next_version:
                await self._deliver(committed_from_stored(op))
        self._behind = until is not None and self.next_version < until

    async def _join(self, join: _Join) -> None:
        if join.key not in self._joining:
            return  # removed before it started
        assert self.next_version is not None
        await self._catch_up(None)
        if join.start < self.next_version:
            missed = self.recent_from(join.start)
            if missed is None:
                stored = await self._store.ops_between(
                    self.dashboard_id, join.start, self.next_version
                )
                missed = [committed_from_stored(op) for op in stored]
            for committed in missed:
                await self._call(join.listener, committed)
        if join.key in self._joining:
            self._joining.discard(join.key)
            self._listeners[join.key] = (join.listener, join.start)

    async def _deliver(self, committed: Committed) -> None:
        self.next_version = committed.version + 1
        self.recent.append(committed)
        for listener, start in list(self._listeners.values()):
            if committed.version >= start:
                await self._call(listener, committed)
        self._resolver.committed(committed)

    async def _call(self, listener: OpListener, committed: Committed) -> None:
        try:
            result = listener(committed)
            if inspect.isawaitable(result):
                await result
        except Exception:
            # A listener is another component's code: its failure must not stop the feed.
            _log.exception("feed.listener_failed", dashboard=str(self.dashboard_id))
