"""RedisHub: the process-wide :class:`~server.core.submission.Hub` over Redis and the op log.

One op's way through it: :meth:`RedisHub.submit` opens the dashboard's feed (subscribed first, so
the outcome cannot be published unseen) and queues the record (:mod:`server.sequencer.enqueue`);
the push finds the lock free and the scheduler (:mod:`server.sequencer.schedule`) runs a
:class:`~server.sequencer.holding.Sequencer` for it, here or in a sequencing process. The
outcome comes back on the dashboard's channel, and the feed (:mod:`server.fanout.feeds`) turns
it into a gapless, ordered stream for the gateway's listeners that also resolves this process's
submitters, so an ack is never sent before its COMMIT. Presence is relayed on its own channel
and kept in Redis (:mod:`server.presence.relay`).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from server.core import log, metrics
from server.core.codes import Code
from server.core.errors import StoreUnavailable, TandemError
from server.core.ids import DashboardId
from server.core.retry import retrying
from server.core.settings import Settings
from server.core.submission import (
    Claim,
    Committed,
    OpListener,
    PresenceListener,
    PresenceUpdate,
    Rejected,
    SubmitRecord,
)
from server.fanout.feed import Resolver
from server.fanout.feeds import FeedRegistry
from server.fanout.subscriber import Subscriber
from server.presence.relay import PresenceRelay
from server.redis.keys import Keys
from server.redis.resp import Resp
from server.sequencer.enqueue import Enqueuer
from server.sequencer.lock import connect
from server.sequencer.plant import Plant
from server.sequencer.records import (
    BatchOutcome,
    committed_from_stored,
    encode_record,
    origin_prefix,
)
from server.sequencer.schedule import Scheduler
from server.store.model import OpLog, Snapshot

_log = log.get(__name__)


class SubmitRejected(TandemError):
    """The sequencer refused the op; ``code`` is the reason it gave (``op_from_future``, ...)."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code


class SubmitTimeout(TandemError):
    code = Code.SUBMIT_TIMEOUT


class RedisHub:
    def __init__(
        self,
        *,
        redis: Redis | str,
        resp: Resp | None = None,
        store: OpLog,
        settings: Settings,
        gateway_id: str,
    ) -> None:
        self._owns_redis = isinstance(redis, str)
        self._gateway_id = gateway_id
        self._redis = (
            connect(redis, max_connections=settings.redis_pool_size)
            if isinstance(redis, str)
            else redis
        )
        # The hot path's commands (queue, lock, settle) go through the lean client.
        self._owns_resp = resp is None
        if resp is None:
            if not isinstance(redis, str):
                raise TypeError("a hub given a redis-py client needs a Resp client too")
            resp = Resp.from_url(redis)
        self._resp = resp
        self._store = store
        self._settings = settings
        self._keys = Keys(settings.redis_prefix)
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscriber = Subscriber(
            resp.endpoint, private_channel=self._keys.hub_channel(gateway_id), nodes=resp.nodes
        )
        self._feeds = FeedRegistry(
            store=store,
            subscriber=self._subscriber,
            keys=self._keys,
            settings=settings,
            own_messages=origin_prefix(gateway_id),
            resolver=self._resolver,
            spawn=self._spawn,
        )
        self._presence = PresenceRelay(
            redis=self._redis,
            keys=self._keys,
            store=store,
            settings=settings,
            gateway_id=gateway_id,
            subscriber=self._subscriber,
            recent=self._feeds.recent,
        )
        plant = Plant(resp, self._keys, store, settings, self._deliver_local, gateway_id)
        self._scheduler = Scheduler(
            plant=plant, redis=self._redis, gateway_id=gateway_id, spawn=self._spawn
        )
        self._enqueuer = Enqueuer(
            resp=resp,
            keys=self._keys,
            gateway_id=gateway_id,
            sequencer=settings.sequencer,
            kick=self._scheduler.kick,
            spawn=self._spawn,
        )
        self._waiters: dict[tuple[DashboardId, str, int], list[asyncio.Future[Committed]]] = {}
        self._waiting_on: dict[DashboardId, int] = {}  # submits in flight per dashboard
        # The queued record of each submit in flight, to queue again if Redis lost it.
        self._inflight: dict[tuple[DashboardId, str, int], bytes] = {}
        self._subscribed_before = False
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def subscriber(self) -> Subscriber:
        """The process's one pub/sub connection (other parts route their channels on it)."""
        return self._subscriber

    async def start(self) -> None:
        await self._subscriber.start()
        self._subscriber.route(self._keys.hub_channel(self._gateway_id), self._on_private_message)
        if self._settings.sequencer:
            self._subscriber.route(
                self._keys.sequencers_channel(), self._scheduler.on_sequencers_message
            )
            self._spawn(self._scheduler.watchdog(), "hub.watchdog")
        self._spawn(self._presence.heartbeat(), "hub.heartbeat")

    async def close(self) -> None:
        """Stop draining (locks released), clear this gateway's presences, stop listening."""
        self._closing = True
        self._feeds.stop_lingering()
        await self._scheduler.close()
        await self._presence.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._feeds.close()
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.set_exception(StoreUnavailable("the hub is closing"))
        await self._subscriber.close()
        if self._owns_redis:
            await self._redis.aclose()
        if self._owns_resp:
            await self._resp.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        # A context of its own: the hub's work is the process's, not that of the connection
        # whose submit happened to start it (its log lines carry no connection id).
        task = asyncio.create_task(coro, name=name, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- submit ----------------------------------------------------------------------------

    async def submit(self, record: SubmitRecord) -> Committed:
        if self._closing:
            raise StoreUnavailable("the hub is closing")
        d = record.dashboard_id
        key = (d, record.src, record.seq)
        future: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(future)
        self._waiting_on[d] = self._waiting_on.get(d, 0) + 1
        feed = self._feeds.use(d)
        feed.users += 1
        # A timer on the answer rather than asyncio.timeout around the whole: this is the path
        # every op takes, and the queue push is bounded by the Redis client's own timeout.
        deadline = asyncio.get_running_loop().call_later(
            self._settings.submit_timeout, _expire, future
        )
        try:
            if not feed.ready.is_set():
                # Subscribed first: the outcome of this record cannot be published unseen.
                ready = asyncio.ensure_future(feed.ready.wait())
                try:
                    await asyncio.wait((future, ready), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ready.cancel()
                if future.done():
                    return future.result()  # the deadline passed first
            raw = encode_record(record)
            self._inflight[key] = raw
            await self._enqueuer.enqueue(d, raw)
            return await future
        finally:
            deadline.cancel()
            waiters = self._waiters.get(key, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(key, None)
                self._inflight.pop(key, None)
            self._waiting_on[d] -= 1
            if not self._waiting_on[d]:
                del self._waiting_on[d]
            feed.users -= 1
            self._feeds.release(d)

    def _on_private_message(self, kind: str, data: bytes | None) -> None:
        """A nudge for the scheduler; or this process's pub/sub connection is subscribed again
        after losing Redis."""
        if kind != "subscribe":
            self._scheduler.on_private_message(kind, data)
            return
        if self._subscribed_before:
            self._spawn(self._queue_again(), "hub.queue_again")
        self._subscribed_before = True

    async def _queue_again(self) -> None:
        """Queue every record still waiting for its answer again: a Redis that restarted empty
        lost them, and one that did not holds a copy that the sequencer answers from the log
        (a record queued twice is recognised by its ``(src, seq)`` and committed once). Pushes
        that fail (a cluster's master still being failed over) are tried again, a growing pause
        apart, while their submits wait."""
        waiting = list(self._inflight.items())
        if not waiting:
            return
        metrics.RETRIES_REDIS.inc(len(waiting))
        _log.info("hub.queued_again", records=len(waiting))

        async def again(key: tuple[DashboardId, str, int], raw: bytes) -> None:
            async def push() -> None:
                if key in self._inflight and not self._closing:  # else answered or closing
                    await self._enqueuer.enqueue(key[0], raw)

            await retrying(push, within=self._settings.submit_timeout, what="queue_again")

        results = await asyncio.gather(
            *(again(key, raw) for key, raw in waiting), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            _log.warning("hub.queue_again_failed", records=len(failed), error=str(failed[0]))

    def _resolver(self, dashboard_id: DashboardId) -> Resolver:
        """What a dashboard's feed does with the outcomes of this process's submitters."""
        return Resolver(
            committed=self._resolve,
            rejected=self._reject,
            waiting=lambda: dashboard_id in self._waiting_on,
        )

    def _resolve(self, committed: Committed) -> None:
        key = (committed.dashboard_id, committed.src, committed.seq)
        for future in self._waiters.pop(key, []):
            if not future.done():
                future.set_result(committed)

    def _reject(self, rejected: Rejected) -> None:
        key = (rejected.dashboard_id, rejected.src, rejected.seq)
        for future in self._waiters.pop(key, []):
            if not future.done():
                future.set_exception(SubmitRejected(rejected.code, rejected.message))

    async def _deliver_local(self, outcome: BatchOutcome) -> None:
        self._feeds.deliver(outcome)

    # -- committed ops ---------------------------------------------------------------------

    def listen(
        self, dashboard_id: DashboardId, listener: OpListener, *, from_version: int | None = None
    ) -> Callable[[], None]:
        """Every op committed from now on (or from ``from_version``), gapless and in order."""
        return self._feeds.listen(dashboard_id, listener, from_version)

    async def ops_since(self, dashboard_id: DashboardId, version: int) -> list[Committed]:
        stored = await self._store.ops_between(dashboard_id, version)
        return [committed_from_stored(op) for op in stored]

    async def snapshot(
        self, dashboard_id: DashboardId, *, version: int | None = None, at: datetime | None = None
    ) -> Snapshot:
        return await self._store.load(dashboard_id, version=version, at=at)

    def held_snapshot(self, dashboard_id: DashboardId) -> Snapshot | None:
        """The head as this process's sequencer has it, while it holds the dashboard's lock
        (no PostgreSQL read); None otherwise."""
        held = self._scheduler.held_head(dashboard_id)
        return None if held is None else Snapshot(dashboard_id, held[0], held[1])

    # -- presence --------------------------------------------------------------------------

    async def publish_presence(self, update: PresenceUpdate) -> None:
        await self._presence.publish(update)

    async def claim_presence(self, update: PresenceUpdate, limit: int) -> Claim:
        return await self._presence.claim(update, limit)

    def listen_presence(
        self, dashboard_id: DashboardId, listener: PresenceListener
    ) -> Callable[[], None]:
        return self._presence.listen(dashboard_id, listener)

    async def presence_snapshot(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        return await self._presence.snapshot(dashboard_id)


def _expire(future: asyncio.Future[Committed]) -> None:
    if not future.done():
        future.set_exception(SubmitTimeout("the op was not sequenced in time"))
