"""Per-client throttling of presence: latest value wins within the interval."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from server.core import log
from server.core.ids import DashboardId
from server.core.submission import PresenceUpdate

_log = log.get(__name__)

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
