"""RedisHub: the process-wide :class:`~server.submission.Hub` over Redis and the op log.

``submit`` pushes the record on the dashboard's Redis queue and tries the dashboard's lock; the
winner runs a :class:`~server.sequencer.Sequencer` in a task of its process. Outcomes come back
on the dashboard's channel, which one pub/sub connection per process listens to; a
:class:`~server.fanout.Feed` per dashboard turns them into a gapless, ordered stream for the
gateway's listeners and resolves this process's submitters from that same stream, so an ack is
never sent before its COMMIT. A watchdog drains queues whose holder died (its lock expired).
Presence is relayed on its own channel and kept in Redis (:mod:`server.presence`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from ot.errors import OTError
from ot.selection import transform_presence
from server import log
from server.batch import BatchOutcome, committed_from_stored, decode_outcome, encode_record
from server.errors import StoreUnavailable, TandemError
from server.fanout import CATCH_UP, Feed, Resolver
from server.ids import DashboardId
from server.keys import Keys
from server.lock import Lock, connect
from server.presence import PresenceStore, Throttle, decode_presence
from server.sequencer import Sequencer
from server.settings import Settings
from server.store.model import OpLog, Snapshot
from server.submission import (
    Committed,
    OpListener,
    PresenceListener,
    PresenceUpdate,
    Rejected,
    SubmitRecord,
)

_log = log.get(__name__)


class SubmitRejected(TandemError):
    """The sequencer refused the op; ``code`` is the reason it gave (``op_from_future``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SubmitTimeout(TandemError):
    code = "submit_timeout"


@dataclass
class _Drain:
    task: asyncio.Task[None] | None = None
    wake: bool = False  # a record arrived while this drain ran: look again before leaving


@dataclass
class _Presence:
    listeners: dict[int, PresenceListener] = field(default_factory=dict)


class RedisHub:
    def __init__(
        self,
        *,
        redis: Redis | str,
        store: OpLog,
        settings: Settings,
        gateway_id: str,
        watchdog_interval: float = 1.0,
        poll_interval: float = 1.0,
    ) -> None:
        self._owns_redis = isinstance(redis, str)
        self._redis = connect(redis) if isinstance(redis, str) else redis
        self._store = store
        self._settings = settings
        self._gateway_id = gateway_id
        self._keys = Keys(settings.redis_prefix)
        self._watchdog_interval = watchdog_interval
        self._poll_interval = poll_interval
        self._presence_store = PresenceStore(
            redis=self._redis, keys=self._keys, gateway_id=gateway_id, ttl=settings.presence_ttl
        )
        self._throttle = Throttle(settings.presence_throttle, self._send_presence)
        self._pubsub: PubSub | None = None
        self._routes: dict[str, tuple[str, DashboardId]] = {}  # channel -> (kind, dashboard)
        self._subscribed: set[str] = set()
        self._subscription_lock = asyncio.Lock()
        self._feeds: dict[DashboardId, Feed] = {}
        self._presence: dict[DashboardId, _Presence] = {}
        self._own_presence: set[tuple[DashboardId, str]] = set()
        self._waiters: dict[tuple[DashboardId, str, int], list[asyncio.Future[Committed]]] = {}
        self._waiting_on: dict[DashboardId, int] = {}  # submits in flight per dashboard
        self._drains: dict[DashboardId, _Drain] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._next_key = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        # A private channel keeps the connection subscribed (and readable) from the start.
        await self._pubsub.subscribe(self._keys.hub_channel(self._gateway_id))
        self._spawn(self._read(), "hub.read")
        self._spawn(self._watchdog(), "hub.watchdog")
        self._spawn(self._heartbeat(), "hub.heartbeat")

    async def close(self) -> None:
        """Stop draining (locks released), clear this gateway's presences, stop listening."""
        self._closing = True
        self._throttle.close()
        drains = [d.task for d in self._drains.values() if d.task is not None]
        # A drain stops between batches once closing is set; give it that long, then cancel.
        if drains:
            _, pending = await asyncio.wait(drains, timeout=self._settings.lock_ttl_ms / 1000)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(RedisError):
            await self._presence_store.clear(sorted(self._own_presence, key=str))
        self._own_presence.clear()
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
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._owns_redis:
            await self._redis.aclose()

    def _spawn(self, coro: object, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
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
        try:
            async with asyncio.timeout(self._settings.submit_timeout):
                # Subscribed first: the outcome of this record cannot be published unseen.
                await feed.ready.wait()
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        pipe.rpush(self._keys.queue(d), encode_record(record))
                        pipe.sadd(self._keys.pending(), str(d))
                        await pipe.execute()
                except RedisError as exc:
                    raise StoreUnavailable(f"cannot queue the op: {exc}") from exc
                self._kick(d)
                return await future
        except TimeoutError as exc:
            raise SubmitTimeout("the op was not sequenced in time") from exc
        finally:
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

    def _waiting(self, dashboard_id: DashboardId) -> bool:
        return dashboard_id in self._waiting_on

    # -- sequencing ------------------------------------------------------------------------

    def _kick(self, dashboard_id: DashboardId) -> None:
        """Make sure this process tries to sequence the dashboard (unless it already does)."""
        if self._closing:
            return
        drain = self._drains.get(dashboard_id)
        if drain is not None:
            drain.wake = True
            return
        drain = _Drain()
        self._drains[dashboard_id] = drain
        drain.task = self._spawn(self._drain(dashboard_id, drain), f"drain:{dashboard_id}")

    async def _drain(self, dashboard_id: DashboardId, drain: _Drain) -> None:
        queue = self._keys.queue(dashboard_id)
        try:
            while not self._closing:
                drain.wake = False
                lock = await Lock.acquire(
                    self._redis, self._keys.lock(dashboard_id), self._settings.lock_ttl_ms
                )
                if lock is None:
                    # The holder re-checks the queue after releasing, so our record is its.
                    return
                sequencer = Sequencer(
                    redis=self._redis,
                    keys=self._keys,
                    store=self._store,
                    settings=self._settings,
                    dashboard_id=dashboard_id,
                    lock=lock,
                    deliver=self._deliver_local,
                    stopping=lambda: self._closing,
                )
                await sequencer.drain()
                if sequencer.lost or drain.wake:
                    continue  # taking the lock again fails fast if someone else has it
                # Released: a record pushed before the release was seen by our last LRANGE or
                # is counted here; one pushed after it finds the lock free.
                if await self._redis.llen(queue) == 0 and not drain.wake:
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

    async def _deliver_local(self, outcome: BatchOutcome) -> None:
        feed = self._feeds.get(outcome.dashboard_id)
        if feed is not None:
            feed.offer(outcome)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self._watchdog_interval)
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
                    committed=self._committed,
                    rejected=self._reject,
                    waiting=lambda: self._waiting(dashboard_id),
                ),
                poll_interval=self._poll_interval,
                from_version=from_version,
            )
            self._feeds[dashboard_id] = feed
            self._route(self._keys.ops_channel(dashboard_id), "ops", dashboard_id)
        return feed

    def _release_feed(self, dashboard_id: DashboardId) -> None:
        feed = self._feeds.get(dashboard_id)
        if feed is None or not feed.idle:
            return
        del self._feeds[dashboard_id]
        self._spawn(feed.close(), f"feed.close:{dashboard_id}")
        self._unroute(self._keys.ops_channel(dashboard_id))

    def _committed(self, committed: Committed) -> None:
        self._resolve(committed)

    # -- presence --------------------------------------------------------------------------

    async def publish_presence(self, update: PresenceUpdate) -> None:
        await self._throttle.offer(update)

    def listen_presence(
        self, dashboard_id: DashboardId, listener: PresenceListener
    ) -> Callable[[], None]:
        presence = self._presence.get(dashboard_id)
        if presence is None:
            presence = self._presence[dashboard_id] = _Presence()
            self._route(self._keys.presence_channel(dashboard_id), "presence", dashboard_id)
        key = self._next_key
        self._next_key += 1
        presence.listeners[key] = listener

        def unlisten() -> None:
            presence.listeners.pop(key, None)
            if not presence.listeners and self._presence.get(dashboard_id) is presence:
                del self._presence[dashboard_id]
                self._unroute(self._keys.presence_channel(dashboard_id))

        return unlisten

    async def presence_snapshot(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        """Live presences, each carried through the ops committed since its version."""
        entries = await self._presence_store.snapshot(dashboard_id)
        loaded: dict[int, list[Committed] | None] = {}
        out = []
        for update in entries:
            current = await self._to_head(update, loaded)
            if current.value is not None:
                out.append(current)
        return out

    async def _send_presence(self, update: PresenceUpdate) -> None:
        key = (update.dashboard_id, update.client_id)
        current = update if update.value is None else await self._to_head(update, {})
        if current.value is None:
            self._own_presence.discard(key)
        else:
            self._own_presence.add(key)
        await self._presence_store.put(current)

    async def _to_head(
        self, update: PresenceUpdate, loaded: dict[int, list[Committed] | None]
    ) -> PresenceUpdate:
        """``update`` carried through the ops committed since its version (``loaded`` caches
        those ops by starting version)."""
        if update.version not in loaded:
            loaded[update.version] = await self._ops_after(update.dashboard_id, update.version)
        ops = loaded[update.version]
        if ops is None:
            return replace(update, value=None)  # based on history no longer kept
        value = update.value
        try:
            for committed in ops:
                if committed.op is not None:
                    value = transform_presence(
                        value, committed.op, is_own=committed.src == update.src
                    )
        except OTError:
            value = None  # a selection that no longer fits the document: no presence
        return replace(update, version=update.version + len(ops), value=value)

    async def _ops_after(self, dashboard_id: DashboardId, version: int) -> list[Committed] | None:
        feed = self._feeds.get(dashboard_id)
        ops = feed.recent_from(version) if feed is not None else None
        if ops is not None:
            return ops
        try:
            stored = await self._store.ops_between(dashboard_id, version)
        except TandemError as exc:
            if exc.code != "version_unavailable":
                raise
            return None
        return [committed_from_stored(op) for op in stored]

    async def _heartbeat(self) -> None:
        """Keep this gateway's presences alive; announce expired ones on watched dashboards."""
        interval = self._settings.presence_ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._presence_store.refresh(list(self._own_presence))
                for dashboard_id in list(self._presence):
                    await self._presence_store.sweep(dashboard_id)
            except RedisError as exc:
                _log.warning("presence.heartbeat_failed", error=str(exc))
            self._throttle.prune(asyncio.get_running_loop().time() - 60)

    # -- pub/sub ---------------------------------------------------------------------------

    def _route(self, channel: str, kind: str, dashboard_id: DashboardId) -> None:
        self._routes[channel] = (kind, dashboard_id)
        self._spawn(self._sync_subscription(channel), "hub.subscribe")

    def _unroute(self, channel: str) -> None:
        self._routes.pop(channel, None)
        self._spawn(self._sync_subscription(channel), "hub.unsubscribe")

    async def _sync_subscription(self, channel: str) -> None:
        """Bring the pub/sub subscription of ``channel`` in line with the routes, retrying."""
        assert self._pubsub is not None, "RedisHub.start() was not called"
        delay = 0.05
        while True:
            async with self._subscription_lock:
                try:
                    if channel in self._routes and channel not in self._subscribed:
                        await self._pubsub.subscribe(channel)
                        self._subscribed.add(channel)
                    elif channel not in self._routes and channel in self._subscribed:
                        await self._pubsub.unsubscribe(channel)
                        self._subscribed.discard(channel)
                    return
                except RedisError as exc:
                    _log.warning("pubsub.subscribe_failed", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except RedisError as exc:
                _log.warning("pubsub.read_failed", error=str(exc))
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            route = self._routes.get(channel)
            if route is None:
                continue
            kind, dashboard_id = route
            if kind == "ops":
                self._on_ops_message(dashboard_id, message["type"], message["data"])
            elif message["type"] == "message":
                await self._on_presence_message(dashboard_id, message["data"])

    def _on_ops_message(self, dashboard_id: DashboardId, kind: str, data: object) -> None:
        feed = self._feeds.get(dashboard_id)
        if feed is None:
            return
        if kind == "subscribe":
            # (Re)subscribed: anything published while we were not is read from the log.
            feed.offer(CATCH_UP)
        elif kind == "message" and isinstance(data, bytes):
            try:
                feed.offer(decode_outcome(dashboard_id, data))
            except ValueError as exc:
                _log.error("pubsub.message_unreadable", dashboard=str(dashboard_id), error=str(exc))

    async def _on_presence_message(self, dashboard_id: DashboardId, data: object) -> None:
        presence = self._presence.get(dashboard_id)
        if presence is None or not isinstance(data, bytes):
            return
        try:
            update = decode_presence(dashboard_id, data)
        except ValueError as exc:
            _log.error("pubsub.message_unreadable", dashboard=str(dashboard_id), error=str(exc))
            return
        for listener in list(presence.listeners.values()):
            try:
                result = listener(update)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # Another component's callback: its failure must not stop the reader.
                _log.exception("presence.listener_failed", dashboard=str(dashboard_id))
