"""A gateway's view of the hub that waits out outages (:mod:`server.core.retry`).

Every call a client's message makes on the hub is retried while PostgreSQL or Redis is
unreachable, for as long as the submit deadline (``submit_timeout``) lasts: a submit is pushed
again (a record queued twice is recognised by its ``(src, seq)`` and committed once), reads are
read again, presence is published again. Only once the deadline has passed does the client get
``store_unavailable``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from server.core.ids import DashboardId
from server.core.retry import retrying
from server.core.submission import (
    Claim,
    Committed,
    Hub,
    OpListener,
    PresenceListener,
    PresenceUpdate,
    SubmitRecord,
)
from server.store.model import Snapshot

T = TypeVar("T")


class PatientHub:
    """A :class:`~server.core.submission.Hub` whose calls wait out outages of ``within`` s."""

    def __init__(self, hub: Hub, within: float) -> None:
        self._hub = hub
        self.within = within

    async def patiently(self, work: Callable[[], Awaitable[T]], what: str) -> T:
        return await retrying(work, within=self.within, what=what)

    async def submit(self, record: SubmitRecord) -> Committed:
        return await retrying(lambda: self._hub.submit(record), within=self.within, what="submit")

    def listen(
        self, dashboard_id: DashboardId, listener: OpListener, *, from_version: int | None = None
    ) -> Callable[[], None]:
        return self._hub.listen(dashboard_id, listener, from_version=from_version)

    async def ops_since(self, dashboard_id: DashboardId, version: int) -> list[Committed]:
        return await self.patiently(lambda: self._hub.ops_since(dashboard_id, version), "ops")

    async def snapshot(
        self, dashboard_id: DashboardId, *, version: int | None = None, at: datetime | None = None
    ) -> Snapshot:
        return await self.patiently(
            lambda: self._hub.snapshot(dashboard_id, version=version, at=at), "snapshot"
        )

    def held_snapshot(self, dashboard_id: DashboardId) -> Snapshot | None:
        return self._hub.held_snapshot(dashboard_id)

    async def publish_presence(self, update: PresenceUpdate) -> None:
        await self.patiently(lambda: self._hub.publish_presence(update), "presence")

    async def claim_presence(self, update: PresenceUpdate, limit: int) -> Claim:
        return await self.patiently(lambda: self._hub.claim_presence(update, limit), "claim")

    def listen_presence(
        self, dashboard_id: DashboardId, listener: PresenceListener
    ) -> Callable[[], None]:
        return self._hub.listen_presence(dashboard_id, listener)

    async def presence_snapshot(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        return await self.patiently(
            lambda: self._hub.presence_snapshot(dashboard_id), "presence_snapshot"
        )
