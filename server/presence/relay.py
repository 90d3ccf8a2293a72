"""Presence: the latest value per client in Redis, its expiry, the relay between gateways.

Per dashboard, a hash maps each client's presence id to its latest value (with its version and
the gateway holding the client), a sorted set maps it to an expiry time, and a channel relays
every change. Each gateway refreshes its own clients' presences on a heartbeat, so when a
gateway dies its presences expire after ``presence_ttl`` and whoever sweeps next announces them
gone. A value sent against an older version is carried through the ops committed since (a text
selection moves with the text) when it is published and when it is read for a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from ot.dashboard.selection import transform_presence
from ot.errors import OTError
from server.core import log
from server.core.codes import Code
from server.core.errors import TandemError
from server.core.ids import DashboardId
from server.core.retry import periodically
from server.core.settings import Settings
from server.core.submission import Claim, Committed, PresenceListener, PresenceUpdate
from server.fanout.subscriber import Subscriber
from server.presence.throttle import Throttle
from server.redis.errors import translated
from server.redis.keys import Keys
from server.sequencer.records import committed_from_stored
from server.store.model import OpLog

_log = log.get(__name__)

# Removes (at most 500) expired presences and returns their last values.
_SWEEP = """
local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local out = {}
for _, id in ipairs(ids) do
    local value = redis.call('hget', KEYS[2], id)
    redis.call('zrem', KEYS[1], id)
    redis.call('hdel', KEYS[2], id)
    redis.call('hdel', KEYS[3], id)
    if value then out[#out + 1] = value end
end
return out
"""

# Removes one presence only while it still belongs to gateway ARGV[2]: a client that moved to
# another gateway keeps the value that gateway wrote.
_CLEAR = """
local value = redis.call('hget', KEYS[2], ARGV[1])
if value and cjson.decode(value)['gw'] == ARGV[2] then
    redis.call('zrem', KEYS[1], ARGV[1])
    redis.call('hdel', KEYS[2], ARGV[1])
    redis.call('hdel', KEYS[3], ARGV[1])
    return value
end
return false
"""

# Binds presence id ARGV[1] to connection ARGV[2] unless another connection holds it (0) or the
# dashboard has ARGV[3] presences already (-1); 1: it is (now) the caller's.
_CLAIM = """
local owner = redis.call('hget', KEYS[1], ARGV[1])
if owner then
    if owner == ARGV[2] then return 1 end
    return 0
end
if redis.call('hlen', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
redis.call('pexpire', KEYS[1], ARGV[4])
return 1
"""
_CLAIMS: dict[int, Claim] = {1: "ok", 0: "taken", -1: "full"}


def encode_presence(update: PresenceUpdate, gateway_id: str) -> bytes:
    return orjson.dumps(
        {
            "id": update.client_id,
            "src": update.src,
            "seq": update.seq,
            "v": update.version,
            "p": update.value,
            "gw": gateway_id,
        }
    )


def decode_presence(dashboard_id: DashboardId, raw: bytes) -> PresenceUpdate:
    """Raises ValueError on a malformed value."""
    body = orjson.loads(raw)
    try:
        return PresenceUpdate(
            dashboard_id=dashboard_id,
            client_id=str(body["id"]),
            src=str(body["src"]),
            seq=int(body["seq"]),
            version=int(body["v"]),
            value=body["p"],
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed presence: {exc}") from exc


def gone(update: PresenceUpdate) -> PresenceUpdate:
    """The update that announces ``update``'s client left (a newer seq, no value)."""
    return PresenceUpdate(
        dashboard_id=update.dashboard_id,
        client_id=update.client_id,
        src=update.src,
        seq=update.seq + 1,
        version=update.version,
        value=None,
    )


class PresenceStore:
    """Presence values of every gateway, in Redis."""

    def __init__(self, *, redis: Redis, keys: Keys, gateway_id: str, ttl: float) -> None:
        self._redis = redis
        self._keys = keys
        self._gateway_id = gateway_id
        self._ttl_ms = int(ttl * 1000)

    async def put(self, update: PresenceUpdate, *, release: bool = True) -> None:
        """Store (or, for a None value, delete) the client's presence and relay the change."""
        d = update.dashboard_id
        message = encode_presence(update, self._gateway_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            if update.value is None:  # the owner's removal also releases the id
                pipe.hdel(self._keys.presence_values(d), update.client_id)
                pipe.zrem(self._keys.presence_expiry(d), update.client_id)
                if release:
                    pipe.hdel(self._keys.presence_owners(d), update.client_id)
            else:
                pipe.hset(self._keys.presence_values(d), update.client_id, message)
                pipe.zadd(self._keys.presence_expiry(d), {update.client_id: self._expiry()})
                self._keep(pipe, d)
            pipe.publish(self._keys.presence_channel(d), message)
            await pipe.execute()

    async def claim(self, update: PresenceUpdate, limit: int) -> Claim:
        result = await self._redis.eval(
            _CLAIM,
            1,
            self._keys.presence_owners(update.dashboard_id),
            update.client_id,
            update.src,
            limit,
            self._ttl_ms * 3,
        )
        return _CLAIMS[int(result)]

    async def snapshot(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        """Every presence on the dashboard whose expiry has not passed."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.presence_values(dashboard_id))
            pipe.zrangebyscore(self._keys.presence_expiry(dashboard_id), _now_ms(), "+inf")
            values, alive = await pipe.execute()
        live = set(alive)
        out = []
        for client_id, raw in values.items():
            if client_id in live:
                out.append(decode_presence(dashboard_id, raw))
        return sorted(out, key=lambda u: u.client_id)

    async def refresh(self, entries: Sequence[tuple[DashboardId, str]]) -> None:
        """Push the expiry of these presences (this gateway's clients) ``ttl`` into the future."""
        expiry = self._expiry()
        async with self._redis.pipeline(transaction=False) as pipe:
            for dashboard_id in {d for d, _ in entries}:
                self._keep(pipe, dashboard_id)
            for dashboard_id, client_id in entries:
                pipe.zadd(self._keys.presence_expiry(dashboard_id), {client_id: expiry}, xx=True)
            await pipe.execute()

    async def sweep(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        """Remove expired presences, announce each one gone, and return the announcements."""
        raws = await self._redis.eval(
            _SWEEP,
            3,
            self._keys.presence_expiry(dashboard_id),
            self._keys.presence_values(dashboard_id),
            self._keys.presence_owners(dashboard_id),
            _now_ms(),
        )
        return await self._announce_gone(dashboard_id, raws)

    async def clear(self, entries: Iterable[tuple[DashboardId, str]]) -> None:
        """Remove these presences if this gateway still holds them, announcing each gone."""
        for dashboard_id, client_id in entries:
            raw = await self._redis.eval(
                _CLEAR,
                3,
                self._keys.presence_expiry(dashboard_id),
                self._keys.presence_values(dashboard_id),
                self._keys.presence_owners(dashboard_id),
                client_id,
                self._gateway_id,
            )
            if raw:
                await self._announce_gone(dashboard_id, [raw])

    async def _announce_gone(
        self, dashboard_id: DashboardId, raws: list[Any]
    ) -> list[PresenceUpdate]:
        out = []
        for raw in raws:
            try:
                update = gone(decode_presence(dashboard_id, raw))
            except ValueError:
                continue
            await self._redis.publish(
                self._keys.presence_channel(dashboard_id), encode_presence(update, self._gateway_id)
            )
            out.append(update)
        return out

    def _keep(self, pipe: Pipeline, dashboard_id: DashboardId) -> None:
        """Let a dashboard's presence keys vanish on their own once nobody refreshes them."""
        for key in (
            self._keys.presence_values(dashboard_id),
            self._keys.presence_expiry(dashboard_id),
            self._keys.presence_owners(dashboard_id),
        ):
            pipe.pexpire(key, self._ttl_ms * 3)

    def _expiry(self) -> int:
        return _now_ms() + self._ttl_ms


def _now_ms() -> int:
    return int(time.time() * 1000)


Recent = Callable[[DashboardId, int], list[Committed] | None]


class PresenceRelay:
    """This gateway's side of presence: publish (throttled, carried to the head), relay to
    local listeners, snapshot, and the heartbeat that keeps its clients' presences alive."""

    def __init__(
        self,
        *,
        redis: Redis,
        keys: Keys,
        store: OpLog,
        settings: Settings,
        gateway_id: str,
        subscriber: Subscriber,
        recent: Recent,
    ) -> None:
        self._keys = keys
        self._store = store
        self._ttl = settings.presence_ttl
        self._max_lag = settings.presence_max_lag
        self._subscriber = subscriber
        self._recent = recent
        self._values = PresenceStore(
            redis=redis, keys=keys, gateway_id=gateway_id, ttl=settings.presence_ttl
        )
        self._throttle = Throttle(settings.presence_throttle, self._send)
        self._listeners: dict[DashboardId, dict[int, PresenceListener]] = {}
        self._own: set[tuple[DashboardId, str]] = set()  # this gateway's clients' presences
        self._next_key = 0

    async def publish(self, update: PresenceUpdate) -> None:
        with translated():
            await self._throttle.offer(update)

    async def claim(self, update: PresenceUpdate, limit: int) -> Claim:
        with translated():
            return await self._values.claim(update, limit)

    def listen(self, dashboard_id: DashboardId, listener: PresenceListener) -> Callable[[], None]:
        listeners = self._listeners.get(dashboard_id)
        if listeners is None:
            listeners = self._listeners[dashboard_id] = {}
            channel = self._keys.presence_channel(dashboard_id)
            self._subscriber.route(channel, lambda kind, data: self._relay(dashboard_id, data))
        key = self._next_key
        self._next_key += 1
        listeners[key] = listener

        def unlisten() -> None:
            listeners.pop(key, None)
            if not listeners and self._listeners.get(dashboard_id) is listeners:
                del self._listeners[dashboard_id]
                self._subscriber.unroute(self._keys.presence_channel(dashboard_id))

        return unlisten

    async def snapshot(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        """Live presences, each carried through the ops committed since its version."""
        loaded: dict[int, list[Committed] | None] = {}
        out = []
        with translated():
            values = await self._values.snapshot(dashboard_id)
        for update in values:
            current = await self._to_head(update, loaded)
            if current.value is not None:
                out.append(current)
        return out

    async def heartbeat(self) -> None:
        """Every third of the TTL: refresh our presences, sweep expired ones where we listen."""
        await periodically(lambda: self._ttl / 3, self._beat, self._heartbeat_failed)

    async def _beat(self) -> None:  # one round of the heartbeat
        self._throttle.prune(asyncio.get_running_loop().time() - 60)
        await self._values.refresh(sorted(self._own, key=str))
        for dashboard_id in list(self._listeners):
            await self._values.sweep(dashboard_id)

    def _heartbeat_failed(self, error: Exception) -> None:
        _log.warning("presence.heartbeat_failed", error=str(error) or repr(error))

    async def close(self) -> None:
        """Announce every presence of this gateway's clients gone."""
        self._throttle.close()
        with contextlib.suppress(RedisError):
            await self._values.clear(sorted(self._own, key=str))
        self._own.clear()

    async def _send(self, update: PresenceUpdate) -> None:
        key = (update.dashboard_id, update.client_id)
        current = update if update.value is None else await self._to_head(update, {})
        if current.value is None:
            self._own.discard(key)
        else:
            self._own.add(key)
        # A value dropped on the way (too old, or no longer fitting) clears what was shown, but
        # the id stays its connection's: only the owner's own removal releases it.
        await self._values.put(current, release=update.value is None)

    async def _relay(self, dashboard_id: DashboardId, data: bytes | None) -> None:
        if data is None:
            return
        try:
            update = decode_presence(dashboard_id, data)
        except ValueError as exc:
            _log.error("presence.unreadable", dashboard=str(dashboard_id), error=str(exc))
            return
        for listener in list(self._listeners.get(dashboard_id, {}).values()):
            try:
                result = listener(update)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # Another component's callback: its failure must not stop the relay.
                _log.exception("presence.listener_failed", dashboard=str(dashboard_id))

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
        """The ops since ``version``; None when they are no longer kept, or when there are more
        than ``presence_max_lag`` of them (a value that old is dropped, not replayed)."""
        ops = self._recent(dashboard_id, version)
        if ops is None:
            try:
                end = version + self._max_lag + 1
                stored = await self._store.ops_between(dashboard_id, version, end)
            except TandemError as exc:
                if exc.code != Code.VERSION_UNAVAILABLE:
                    raise
                return None
            ops = [committed_from_stored(op) for op in stored]
        return ops if len(ops) <= self._max_lag else None
