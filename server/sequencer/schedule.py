"""Drain scheduling: which dashboards this process sequences, and when.

A dashboard is drained when a push finds its lock free (:meth:`Scheduler.kick`), when a front
gateway calls the sequencers, or when the watchdog finds a queue nobody holds (its holder died).
A holder lingering on a lock is nudged (a local push, or another process's through this
process's private channel), and each released dashboard's last state is remembered
(``hold_memories``) so the next holding goes on from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.core import log, metrics
from server.core.errors import TandemError
from server.core.ids import DashboardId
from server.core.retry import periodically
from server.core.settings import Settings
from server.redis.keys import Keys
from server.redis.resp import Resp
from server.sequencer.holding import Sequencer
from server.sequencer.lock import Lock
from server.sequencer.plant import Holding, Memory, Plant

_log = log.get(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


@dataclass
class _Drain:
    task: asyncio.Task[None] | None = None
    wake: bool = False  # a record arrived while this drain ran: look again before leaving
    # Set by every local push, so a holder lingering on the lock looks at once.
    nudge: asyncio.Event = field(default_factory=asyncio.Event)
    sequencer: Sequencer | None = None  # the holder draining now, if the lock is taken


class Scheduler:
    def __init__(self, *, plant: Plant, redis: Redis, gateway_id: str, spawn: Spawn) -> None:
        self._plant = plant
        self._resp: Resp = plant.redis
        self._redis = redis  # redis-py: the watchdog's reads
        self._keys: Keys = plant.keys
        self._settings: Settings = plant.settings
        self._gateway_id = gateway_id
        self._spawn = spawn
        self._drains: dict[DashboardId, _Drain] = {}
        # What the last sequencer of each recently drained dashboard knew (oldest first).
        self._memories: dict[DashboardId, Memory] = {}
        self._closing = False

    async def close(self) -> None:
        """Stop draining: a drain stops between batches (its lock released); one that does not
        within the lock's ttl is cancelled."""
        self._closing = True
        for drain in self._drains.values():
            drain.nudge.set()  # a holder lingering on its lock stops waiting
        drains = [d.task for d in self._drains.values() if d.task is not None]
        if drains:
            _, pending = await asyncio.wait(drains, timeout=self._settings.lock_ttl_ms / 1000)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def kick(self, dashboard_id: DashboardId) -> None:
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
                metrics.LOCK_ACQUISITIONS.inc()
                sequencer = Sequencer(
                    Holding(
                        plant=self._plant,
                        dashboard_id=dashboard_id,
                        lock=lock,
                        memory=self._memories.pop(dashboard_id, None),
                        nudge=drain.nudge,
                        stopping=lambda: self._closing,
                    )
                )
                drain.sequencer = sequencer
                try:
                    await sequencer.drain()
                finally:
                    drain.sequencer = None
                if sequencer.lost:
                    metrics.HANDOVER_LOST.inc()
                elif self.closing:
                    metrics.HANDOVER_SHUTDOWN.inc()
                    if sequencer.left:
                        await self._hand_over(dashboard_id)
                else:
                    metrics.HANDOVER_RELEASED.inc()
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

    def held_head(self, dashboard_id: DashboardId) -> tuple[int, Any] | None:
        """``(version, document)`` of a dashboard whose lock this process holds right now, as
        its holder has committed it; None when it holds no lock on it."""
        drain = self._drains.get(dashboard_id)
        if drain is None or drain.sequencer is None:
            return None
        return drain.sequencer.head()

    @property
    def closing(self) -> bool:
        return self._closing

    async def _hand_over(self, dashboard_id: DashboardId) -> None:
        """Released on shutdown with records still queued: call whoever sequences, so one of
        them takes the queue now rather than when its watchdog next looks."""
        try:
            await self._resp.call("PUBLISH", self._keys.sequencers_channel(), str(dashboard_id))
        except RedisError as exc:
            _log.warning("hub.sequencers_unreachable", error=str(exc))

    def on_private_message(self, kind: str, data: bytes | None) -> None:
        """Another process queued records for a dashboard whose lock this one holds (_PUSH)."""
        for dashboard_id in _dashboard_ids(kind, data):
            drain = self._drains.get(dashboard_id)
            if drain is not None:
                drain.wake = True
                drain.nudge.set()

    def on_sequencers_message(self, kind: str, data: bytes | None) -> None:
        """A front gateway queued records for these dashboards (_call_sequencers)."""
        for dashboard_id in _dashboard_ids(kind, data):
            self.kick(dashboard_id)

    def _remember(self, dashboard_id: DashboardId, memory: Memory | None) -> None:
        if memory is None:
            return
        self._memories[dashboard_id] = memory
        while len(self._memories) > self._settings.hold_memories:
            del self._memories[next(iter(self._memories))]

    async def watchdog(self) -> None:
        # It must outlive any one failure (a connection closing under a command can raise the
        # event loop's RuntimeError), but not its own cancellation.
        await periodically(
            lambda: self._settings.watchdog_interval, self._scan_pending, _watchdog_failed
        )

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
        metrics.QUEUES_PENDING.set(len(dashboards))
        if not dashboards:
            metrics.QUEUE_DEPTH.set(0)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for d in dashboards:
                pipe.llen(self._keys.queue(d))
                pipe.exists(self._keys.lock(d))
            answers = await pipe.execute()
        metrics.QUEUE_DEPTH.set(sum(answers[0::2]))
        for i, d in enumerate(dashboards):
            length, locked = answers[2 * i], answers[2 * i + 1]
            if length == 0:
                await self._redis.srem(pending, str(d))
                # A submit pushes before it adds to the set: if it pushed meanwhile, put it back.
                if await self._redis.llen(self._keys.queue(d)) > 0:
                    await self._redis.sadd(pending, str(d))
            elif not locked:
                self.kick(d)

    # -- committed ops ---------------------------------------------------------------------


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


def _watchdog_failed(error: Exception) -> None:
    if isinstance(error, RedisError):
        _log.warning("watchdog.failed", error=str(error))
    else:
        _log.error("watchdog.failed", exc_info=error)
