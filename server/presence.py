"""The Redis side of presence: the latest value per client, its expiry, the relay, the throttle.

Per dashboard, a hash maps each client's presence id to its latest value (with the version it
refers to and the gateway that holds the client), a sorted set maps it to an expiry time, and a
channel relays every change. Each gateway refreshes the expiry of its own clients' presences on
a heartbeat, so when a gateway dies its presences expire after ``presence_ttl`` and whoever
sweeps next announces them gone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from server import log
from server.ids import DashboardId
from server.keys import Keys
from server.submission import PresenceUpdate

_log = log.get(__name__)

# Removes (at most 500) expired presences and returns their last values.
_SWEEP = """
local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local out = {}
for _, id in ipairs(ids) do
    local value = redis.call('hget', KEYS[2], id)
    redis.call('zrem', KEYS[1], id)
    redis.call('hdel', KEYS[2], id)
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
    return value
end
return false
"""


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

    async def put(self, update: PresenceUpdate) -> None:
        """Store (or, for a None value, delete) the client's presence and relay the change."""
        d = update.dashboard_id
        message = encode_presence(update, self._gateway_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            if update.value is None:
                pipe.hdel(self._keys.presence_values(d), update.client_id)
                pipe.zrem(self._keys.presence_expiry(d), update.client_id)
            else:
                pipe.hset(self._keys.presence_values(d), update.client_id, message)
                pipe.zadd(self._keys.presence_expiry(d), {update.client_id: self._expiry()})
                self._keep(pipe, d)
            pipe.publish(self._keys.presence_channel(d), message)
            await pipe.execute()

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
            2,
            self._keys.presence_expiry(dashboard_id),
            self._keys.presence_values(dashboard_id),
            _now_ms(),
        )
        return await self._announce_gone(dashboard_id, raws)

    async def clear(self, entries: Iterable[tuple[DashboardId, str]]) -> None:
        """Remove these presences if this gateway still holds them, announcing each gone."""
        for dashboard_id, client_id in entries:
            raw = await self._redis.eval(
                _CLEAR,
                2,
                self._keys.presence_expiry(dashboard_id),
                self._keys.presence_values(dashboard_id),
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
        ):
            pipe.pexpire(key, self._ttl_ms * 3)

    def _expiry(self) -> int:
        return _now_ms() + self._ttl_ms


def _now_ms() -> int:
    return int(time.time() * 1000)


Send = Callable[[PresenceUpdate], Awaitable[None]]


@dataclass
class _Slot:
    last: float = float("-inf")
    pending: PresenceUpdate | None = None
    timer: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Throttle:
    """At most one send per client every ``interval`` seconds; within it the latest value wins.

    A value that arrives too soon waits for the end of the interval, replaced by any newer one
    meanwhile. A removal (value None) goes out at once and drops a waiting value.
    """

    def __init__(self, interval: float, send: Send) -> None:
        self._interval = interval
        self._send = send
        self._slots: dict[tuple[DashboardId, str], _Slot] = {}

    async def offer(self, update: PresenceUpdate) -> None:
        key = (update.dashboard_id, update.client_id)
        slot = self._slots.setdefault(key, _Slot())
        now = asyncio.get_running_loop().time()
        if update.value is None:
            if slot.timer is not None:
                slot.timer.cancel()  # still sleeping: a timer clears itself before it sends
                slot.timer = None
            slot.pending = None
            self._slots.pop(key, None)
            async with slot.lock:  # after a send already under way, never before it
                await self._send(update)
            return
        if slot.timer is not None:
            slot.pending = update
            return
        wait = slot.last + self._interval - now
        if wait > 0:
            slot.pending = update
            slot.timer = asyncio.create_task(self._flush_later(key, slot, wait))
            return
        slot.last = now
        async with slot.lock:
            await self._send(update)

    async def _flush_later(self, key: tuple[DashboardId, str], slot: _Slot, wait: float) -> None:
        await asyncio.sleep(wait)
        slot.timer = None
        update, slot.pending = slot.pending, None
        if update is None:
            return
        slot.last = asyncio.get_running_loop().time()
        try:
            async with slot.lock:
                await self._send(update)
        except Exception:
            # The outermost point of this timer task: log, the next update sends afresh.
            _log.exception("presence.send_failed", dashboard=str(key[0]))

    def prune(self, older_than: float) -> None:
        """Forget idle clients last sent before ``older_than`` (loop time)."""
        for key, slot in list(self._slots.items()):
            if slot.timer is None and slot.last < older_than:
                del self._slots[key]

    def close(self) -> None:
        for slot in self._slots.values():
            if slot.timer is not None:
                slot.timer.cancel()
        self._slots.clear()
