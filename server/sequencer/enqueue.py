"""Putting submit records on their dashboards' Redis queues, a burst in one round trip.

The push script also says who holds each dashboard's lock: nobody (this process then tries to
sequence it, or, as a front gateway, calls the sequencers), this process, or another one, which
the script nudges on its private channel so that a holder lingering on the lock reads at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from server.core import log
from server.core.errors import StoreUnavailable
from server.core.ids import DashboardId
from server.redis.keys import Keys
from server.redis.resp import Arg, Resp, Script

_log = log.get(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]

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


class Enqueuer:
    """Queues records; ``kick`` is told of each dashboard whose lock nobody here or elsewhere
    holds (a sequencing process), or the sequencers are called (a front gateway)."""

    def __init__(
        self,
        *,
        resp: Resp,
        keys: Keys,
        gateway_id: str,
        sequencer: bool,
        kick: Callable[[DashboardId], None],
        spawn: Spawn,
    ) -> None:
        self._resp = resp
        self._keys = keys
        self._gateway_id = gateway_id
        self._sequencer = sequencer
        self._kick = kick
        self._spawn = spawn
        # Records waiting for their RPUSH, per dashboard, each with the future its submit awaits.
        self._outbound: dict[DashboardId, list[tuple[bytes, asyncio.Future[None]]]] = {}
        self._pusher: asyncio.Task[None] | None = None

    async def enqueue(self, dashboard_id: DashboardId, raw: bytes) -> None:
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
                if self._sequencer:
                    for d in idle:
                        self._kick(d)
                elif idle:
                    await self._call_sequencers(idle)
        finally:
            self._pusher = None
            # Only when cancelled (the process is closing): nothing is left waiting.
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
