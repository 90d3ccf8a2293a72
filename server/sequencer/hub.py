"""RedisHub: the process-wide :class:`~server.core.submission.Hub` over Redis and the op log.

``submit`` pushes the record on the dashboard's Redis queue and tries the dashboard's lock; the
winner runs a :class:`~server.sequencer.holding.Sequencer` in a task of its process. Outcomes come back
on the dashboard's channel, which one pub/sub connection per process listens to; a
:class:`~server.fanout.feed.Feed` per dashboard turns them into a gapless, ordered stream for the
gateway's listeners and resolves this process's submitters from that same stream, so an ack is
never sent before its COMMIT. A watchdog drains queues whose holder died (its lock expired).
Presence is relayed on its own channel and kept in Redis (:mod:`server.presence.relay`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from server.core import log
from server.core.codes import Code
from server.core.errors import StoreUnavailable, TandemError
from server.core.ids import DashboardId
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
from server.fanout.feed import CATCH_UP, Feed, Resolver
from server.fanout.subscriber import Subscriber
from server.presence.relay import PresenceRelay
from server.redis.keys import Keys
from server.redis.resp import Arg, Resp, Script
from server.sequencer.holding import Memory, Sequencer
from server.sequencer.lock import Lock, connect
from server.sequencer.records import (
    BatchOutcome,
    committed_from_stored,
    decode_outcome,
    encode_record,
    origin_prefix,
)
from server.store.model import OpLog, Snapshot

_log = log.get(__name__)

# Push records (ARGV[4..]) on a dashboard's queue KEYS[1] and say who holds its lock KEYS[2]:
# 0 nobody (the pusher tries to take it), 1 this process (ARGV[1]), 2 another process, which is
# told on its private channel (ARGV[2] .. its id) so that a holder lingering on the lock reads
# the queue at once instead of polling it. The message is the dashboard id (ARGV[3]).
_PUSH = Script("""
redis.call('rpush', KEYS[1], unpack(ARGV, 4))
local token = redis.call('get', KEYS[2])
if not token then return 0 end
local holder = string.match(token, '^(.*):[^:]*$')
if holder == ARGV[1] then return 1 end
if holder and holder ~= '' then redis.call('publish', ARGV[2] .. holder, ARGV[3]) end
return 2
""")
NOBODY, HELD_HERE, HELD_ELSEWHERE = 0, 1, 2


class SubmitRejected(TandemError):
    """The sequencer refused the op; ``code`` is the reason it gave (``op_from_future``, ...)."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code


class SubmitTimeout(TandemError):
    code = Code.SUBMIT_TIMEOUT


@dataclass
class _Drain:
    task: asyncio.Task[None] | None = None
    wake: bool = False  # a record arrived while this drain ran: look again before leaving
    # Set by every local push, so a holder lingering on the lock looks at once.
    nudge: asyncio.Event = field(default_factory=asyncio.Event)


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
        # This process's own batch messages: already delivered locally when published.
        self._own_messages = origin_prefix(gateway_id)
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
        self._subscriber = Subscriber(
            resp.endpoint, private_channel=self._keys.hub_channel(gateway_id)
        )
        self._presence = PresenceRelay(
            redis=self._redis,
            keys=self._keys,
            store=store,
            settings=settings,
            gateway_id=gateway_id,
            subscriber=self._subscriber,
            recent=self._recent,
        )
        self._feeds: dict[DashboardId, Feed] = {}
        self._waiters: dict[tuple[DashboardId, str, int], list[asyncio.Future[Committed]]] = {}
        self._waiting_on: dict[DashboardId, int] = {}  # submits in flight per dashboard
        self._drains: dict[DashboardId, _Drain] = {}
        # What the last sequencer of each recently drained dashboard knew (oldest first).
        self._memories: dict[DashboardId, Memory] = {}
        # Records waiting for their RPUSH, per dashboard, each with the future its submit awaits.
        self._outbound: dict[DashboardId, list[tuple[bytes, asyncio.Future[None]]]] = {}
        self._pusher: asyncio.Task[None] | None = None
        self._lingering: set[DashboardId] = set()  # idle feeds waiting to be closed
        self._tasks: set[asyncio.Task[None]] = set()
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
            self._subscriber.route(self._keys.sequencers_channel(), self._on_sequencers_message)
            self._spawn(self._watchdog(), "hub.watchdog")
        self._spawn(self._presence.heartbeat(), "hub.heartbeat")

    async def close(self) -> None:
        """Stop draining (locks released), clear this gateway's presences, stop listening."""
        self._closing = True
        for drain in self._drains.values():
            drain.nudge.set()  # a holder lingering on its lock stops waiting
        drains = [d.task for d in self._drains.values() if d.task is not None]
        # A drain stops between batches once closing is set; give it that long, then cancel.
        if drains:
            _, pending = await asyncio.wait(drains, timeout=self._settings.lock_ttl_ms / 1000)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._presence.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for feed in list(self._feeds.values()):
            await feed.close()
        self._feeds.clear()
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
        task = asyncio.create_task(coro, name=name)
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
        feed = self._use_feed(d)
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
            await self._enqueue(d, encode_record(record))
            return await future
        finally:
            deadline.cancel()
            waiters = self._waiters.get(key, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiters.pop(key, None)
            self._waiting_on[d] -= 1
            if not self._waiting_on[d]:
                del self._waiting_on[d]
            feed.users -= 1
            self._release_feed(d)

    async def _enqueue(self, dashboard_id: DashboardId, raw: bytes) -> None:
        """Put a record on the dashboard's queue. Records submitted while a push is under way
        go together in the next one (one push script per dashboard and one SADD, in one
        pipeline), so a burst takes one round trip, not one each."""
        queued: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbound.setdefault(dashboard_id, []).append((raw, queued))
        if self._pusher is None:
            self._pusher = self._spawn(self._push(), "hub.push")
        await queued

    async def _push(self) -> None:
        taken: dict[DashboardId, list[tuple[bytes, asyncio.Future[None]]]] = {}
        try:
            while self._outbound:
                taken, self._outbound = self._outbound, {}
                try:
                    held = await self._push_records(taken)
                except RedisError as exc:
                    _settle(taken, StoreUnavailable(f"cannot queue the op: {exc}"))
                    continue
                _settle(taken, None)
                # Where another process holds the lock, the push nudged it.
                idle = [
                    d for d, holder in zip(taken, held, strict=True) if holder != HELD_ELSEWHERE
                ]
                if self._settings.sequencer:
                    for d in idle:
                        self._kick(d)
                elif idle:
                    await self._call_sequencers(idle)
        finally:
            self._pusher = None
            # Only when cancelled (the hub is closing): nothing is left waiting.
            closing = StoreUnavailable("the hub is closing")
            _settle(taken, closing)
            _settle(self._outbound, closing)

    async def _call_sequencers(self, dashboards: list[DashboardId]) -> None:
        """A front gateway's records wait for a sequencer: tell them all (the first to take the
        lock drains the queue). A call that does not reach one leaves the records to the
        sequencers' watchdog."""
        try:
            await self._resp.call(
                "PUBLISH", self._keys.sequencers_channel(), ",".join(map(str, dashboards))
            )
        except RedisError as exc:
            _log.warning("hub.sequencers_unreachable", error=str(exc))

    async def _push_records(
        self, taken: dict[DashboardId, list[tuple[bytes, asyncio.Future[None]]]]
    ) -> list[int]:
        """Queue the records (one script per dashboard, then one SADD, in one round trip);
        for each dashboard, who held its lock (see :data:`_PUSH`)."""
        pushes: list[tuple[Arg, ...]] = [
            ("EVALSHA", _PUSH.sha, 2, self._keys.queue(d), self._keys.lock(d),
             self._gateway_id, self._keys.hub_channel(""), str(d), *(raw for raw, _ in records))
            for d, records in taken.items()
        ]  # fmt: skip
        # After the pushes: the watchdog drops a dashboard whose queue is empty.
        pending: tuple[Arg, ...] = ("SADD", self._keys.pending(), *map(str, taken))
        try:
            replies = await self._resp.pipeline(*pushes, pending)
        except NoScriptError:
            # Redis restarted (or its scripts were flushed): no push ran, so load and go again.
            await self._resp.load(_PUSH)
            replies = await self._resp.pipeline(*pushes, pending)
        return [int(r) for r in replies[:-1]]

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

    # -- sequencing ------------------------------------------------------------------------

    def _kick(self, dashboard_id: DashboardId) -> None:
        """Make sure this process tries to sequence the dashboard (unless it already does)."""
        if self._closing:
            return
        drain = self._drains.get(dashboard_id)
        if drain is not None:
            drain.wake = True
            drain.nudge.set()
            return
        drain = _Drain()
        self._drains[dashboard_id] = drain
        drain.task = self._spawn(self._drain(dashboard_id, drain), f"drain:{dashboard_id}")

    async def _drain(self, dashboard_id: DashboardId, drain: _Drain) -> None:
        try:
            while not self._closing:
                drain.wake = False
                lock = await Lock.acquire(
                    self._resp,
                    self._keys.lock(dashboard_id),
                    self._settings.lock_ttl_ms,
                    holder=self._gateway_id,
                )
                if lock is None:
                    # The holder re-checks the queue after releasing, so our record is its.
                    return
                sequencer = Sequencer(
                    redis=self._resp,
                    keys=self._keys,
                    store=self._store,
                    settings=self._settings,
                    dashboard_id=dashboard_id,
                    lock=lock,
                    deliver=self._deliver_local,
                    stopping=lambda: self._closing,
                    memory=self._memories.pop(dashboard_id, None),
                    origin=self._gateway_id,
                    nudge=drain.nudge,
                )
                await sequencer.drain()
                self._remember(dashboard_id, sequencer.memory())
                if sequencer.lost or drain.wake:
                    continue  # taking the lock again fails fast if someone else has it
                # Released: a record pushed before the release was seen by our last LRANGE or
                # counted by the release itself; one pushed after it finds the lock free.
                if sequencer.left == 0 and not drain.wake:
                    return
        except TandemError as exc:
            # The store is unavailable (or refused the batch): the records stay queued and the
            # watchdog tries again.
            _log.warning("sequencer.failed", dashboard=str(dashboard_id), error=exc.code)
        except Exception:
            # The outermost point of a drain: the records stay queued for the watchdog.
            _log.exception("sequencer.failed", dashboard=str(dashboard_id))
        finally:
            if self._drains.get(dashboard_id) is drain:
                del self._drains[dashboard_id]

    def _on_private_message(self, kind: str, data: bytes | None) -> None:
        """Another process queued records for a dashboard whose lock this one holds (_PUSH)."""
        for dashboard_id in _dashboard_ids(kind, data):
            drain = self._drains.get(dashboard_id)
            if drain is not None:
                drain.wake = True
                drain.nudge.set()

    def _on_sequencers_message(self, kind: str, data: bytes | None) -> None:
        """A front gateway queued records for these dashboards (_call_sequencers)."""
        for dashboard_id in _dashboard_ids(kind, data):
            self._kick(dashboard_id)

    def _remember(self, dashboard_id: DashboardId, memory: Memory | None) -> None:
        if memory is None:
            return
        self._memories[dashboard_id] = memory
        while len(self._memories) > self._settings.hold_memories:
            del self._memories[next(iter(self._memories))]

    async def _deliver_local(self, outcome: BatchOutcome) -> None:
        feed = self._feeds.get(outcome.dashboard_id)
        if feed is not None:
            feed.offer(outcome)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self._settings.watchdog_interval)
            try:
                await self._scan_pending()
            except RedisError as exc:
                _log.warning("watchdog.failed", error=str(exc))

    async def _scan_pending(self) -> None:
        """Drain queues nobody holds (their holder died); forget dashboards with empty queues."""
        pending = self._keys.pending()
        members = [m async for m in self._redis.sscan_iter(pending, count=500)]
        dashboards: list[DashboardId] = []
        for member in members:
            try:
                dashboards.append(DashboardId(UUID(member.decode())))
            except ValueError:
                await self._redis.srem(pending, member)
        if not dashboards:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for d in dashboards:
                pipe.llen(self._keys.queue(d))
                pipe.exists(self._keys.lock(d))
            answers = await pipe.execute()
        for i, d in enumerate(dashboards):
            length, locked = answers[2 * i], answers[2 * i + 1]
            if length == 0:
                await self._redis.srem(pending, str(d))
                # A submit pushes before it adds to the set: if it pushed meanwhile, put it back.
                if await self._redis.llen(self._keys.queue(d)) > 0:
                    await self._redis.sadd(pending, str(d))
            elif not locked:
                self._kick(d)

    # -- committed ops ---------------------------------------------------------------------

    def listen(
        self, dashboard_id: DashboardId, listener: OpListener, *, from_version: int | None = None
    ) -> Callable[[], None]:
        """Every op committed from now on (or from ``from_version``), gapless and in order."""
        feed = self._use_feed(dashboard_id, from_version)
        key = feed.add(listener, from_version)

        def unlisten() -> None:
            feed.remove(key)
            self._release_feed(dashboard_id)

        return unlisten

    async def ops_since(self, dashboard_id: DashboardId, version: int) -> list[Committed]:
        stored = await self._store.ops_between(dashboard_id, version)
        return [committed_from_stored(op) for op in stored]

    async def snapshot(
        self, dashboard_id: DashboardId, *, version: int | None = None, at: datetime | None = None
    ) -> Snapshot:
        return await self._store.load(dashboard_id, version=version, at=at)

    def _use_feed(self, dashboard_id: DashboardId, from_version: int | None = None) -> Feed:
        feed = self._feeds.get(dashboard_id)
        if feed is None:
            feed = Feed(
                dashboard_id=dashboard_id,
                store=self._store,
                resolver=Resolver(
                    committed=self._resolve,
                    rejected=self._reject,
                    waiting=lambda: dashboard_id in self._waiting_on,
                ),
                poll_interval=self._settings.feed_poll_interval,
                recent_ops=self._settings.feed_recent_ops,
                from_version=from_version,
            )
            self._feeds[dashboard_id] = feed
            self._subscriber.route(
                self._keys.ops_channel(dashboard_id),
                lambda kind, data: self._on_ops_message(feed, kind, data),
            )
        return feed

    def _release_feed(self, dashboard_id: DashboardId) -> None:
        feed = self._feeds.get(dashboard_id)
        if feed is None or not feed.idle or self._closing or dashboard_id in self._lingering:
            return
        self._lingering.add(dashboard_id)
        self._spawn(self._close_idle(feed), f"feed.linger:{dashboard_id}")

    async def _close_idle(self, feed: Feed) -> None:
        # Kept a while: a gateway that submits now and then should not resubscribe each time.
        d = feed.dashboard_id
        try:
            await asyncio.sleep(self._settings.feed_linger)
        finally:
            self._lingering.discard(d)
        if self._feeds.get(d) is not feed or not feed.idle:
            return  # in use again: its next release lingers anew
        del self._feeds[d]
        self._subscriber.unroute(self._keys.ops_channel(d))
        await feed.close()

    def _on_ops_message(self, feed: Feed, kind: str, data: bytes | None) -> None:
        if kind == "subscribe":
            # (Re)subscribed: anything published while we were not is read from the log.
            feed.offer(CATCH_UP)
        elif data is not None and not data.startswith(self._own_messages):
            try:
                feed.offer(decode_outcome(feed.dashboard_id, data))
            except ValueError as exc:
                _log.error(
                    "op.message_unreadable", dashboard=str(feed.dashboard_id), error=str(exc)
                )

    def _recent(self, dashboard_id: DashboardId, version: int) -> list[Committed] | None:
        feed = self._feeds.get(dashboard_id)
        return feed.recent_from(version) if feed is not None else None

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


def _dashboard_ids(kind: str, data: bytes | None) -> list[DashboardId]:
    """The dashboard ids a nudge names (comma-separated); unreadable ones are logged and left."""
    if kind != "message" or data is None:
        return []
    ids = []
    for part in data.split(b","):
        try:
            ids.append(DashboardId(UUID(part.decode())))
        except ValueError:
            _log.error("hub.message_unreadable", data=part[:80])
    return ids


def _expire(future: asyncio.Future[Committed]) -> None:
    if not future.done():
        future.set_exception(SubmitTimeout("the op was not sequenced in time"))


def _settle(
    records: dict[DashboardId, list[tuple[bytes, asyncio.Future[None]]]],
    problem: Exception | None,
) -> None:
    for entries in records.values():
        for _, queued in entries:
            if queued.done():
                continue
            if problem is None:
                queued.set_result(None)
            else:
                queued.set_exception(problem)
