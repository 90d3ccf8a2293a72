"""Open connections keep the right to stay only while their session, user and roles allow it.

A connection is checked when it authenticates; after that, :class:`Revalidator` re-checks it:

- when an :class:`~server.access.changes.AccessChange` names its session, its user, or a
  dashboard it watches (announced on the access channel by the CLI or the HTTP API): the
  cache entries the change names are dropped first, then the affected connections are checked;
- every ``interval`` seconds, every open connection of the process, for changes made directly
  in PostgreSQL (and announcements pub/sub lost): one query for all of them
  (:meth:`server.store.access.Access.validity`), whose roles also refresh the role cache.

A connection whose session is gone (revoked, expired, user deactivated or deleted) or that lost
access to a dashboard it watches is told so and closed; one whose role changed (an editor made
viewer) is told and stays, with the new role applied to its next message. Nothing here runs
per op: the per-message role check stays a cache lookup.

The same announcements keep subscribed queries (``qs``) live: a change naming a user (a share,
an unshare, a dashboard created for its owner) makes that user's connections run their queries
again; one naming a dashboard (archived, restored, deleted) those whose results hold it and
those of its owner and collaborators (one lookup, only when some connection has a live query).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, Literal, Protocol
from uuid import UUID

from server.access.changes import AccessChange
from server.access.roles import Pair, Roles
from server.core import log
from server.core.errors import TandemError
from server.core.ids import DashboardId, UserId
from server.core.retry import periodically
from server.store.access import Validity
from server.store.model import Role

_log = log.get(__name__)

Reason = Literal["session", "access"]


class Holder(Protocol):
    """An authenticated connection, as the re-validation sees it."""

    @property
    def session_id(self) -> UUID | None: ...

    @property
    def user_id(self) -> UserId | None: ...

    def watched(self) -> Mapping[DashboardId, Role]:
        """The dashboards it receives updates of, with the role each was granted under."""
        ...

    def revoked(self, reason: Reason, dashboard: DashboardId | None) -> None:
        """Tell the client why, and close."""
        ...

    def role_changed(self, dashboard: DashboardId, role: Role) -> None:
        """Tell the client its role on a dashboard it watches is now ``role``."""
        ...

    def listing(self) -> frozenset[DashboardId] | None:
        """The dashboards its live queries answered; None when it has none."""
        ...

    def listing_stale(self) -> None:
        """What the user sees may have changed: run the live queries again."""
        ...


class Checker(Protocol):
    async def validity(self, sessions: Iterable[UUID], pairs: Iterable[Pair]) -> Validity: ...

    async def members(self, dashboard: DashboardId) -> frozenset[UserId]:
        """The dashboard's owner and collaborators (none when it does not exist)."""
        ...


class Revalidator:
    def __init__(self, checker: Checker, roles: Roles, *, interval: float) -> None:
        self._checker = checker
        self._roles = roles
        self._interval = interval
        self._holders: set[Holder] = set()
        self._sweep: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, holder: Holder) -> None:
        self._holders.add(holder)

    def discard(self, holder: Holder) -> None:
        self._holders.discard(holder)

    def start(self) -> None:
        self._sweep = asyncio.create_task(self._sweeping(), name="access.sweep")

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._sweep] if self._sweep is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- announcements ------------------------------------------------------------------

    def on_message(self, kind: str, data: bytes | None) -> None:
        """The access channel's handler (:class:`~server.fanout.subscriber.Subscriber`)."""
        if kind == "subscribe":  # (re)subscribed: announcements may have been lost meanwhile
            self._spawn(self.check(list(self._holders)))
            for holder in self._holders:
                if holder.listing() is not None:
                    holder.listing_stale()
            return
        change = None if data is None else AccessChange.decode(data)
        if change is None:
            _log.warning("access.bad_announcement")
            return
        self._spawn(self.apply(change))

    async def apply(self, change: AccessChange) -> None:
        """Drop what ``change`` makes stale, then re-check the connections it affects."""
        target = change.target
        if change.kind in ("user", "role"):
            user = change.id_uuid
            if user is None:
                return
            uid = UserId(user)
            self._roles.drop(user=uid, dashboards=() if target is None else (target,))
            affected = [h for h in self._holders if h.user_id == uid]
            for holder in affected:
                holder.listing_stale()
        elif change.kind == "session":
            session = change.id_uuid
            affected = [h for h in self._holders if h.session_id == session]
        else:  # share_link, dashboard
            if target is None:
                return
            self._roles.drop(dashboards=(target,))
            affected = [h for h in self._holders if target in h.watched()]
            if change.kind == "dashboard":
                await self._listings_of(target)
        await self.check(affected)

    async def _listings_of(self, dashboard: DashboardId) -> None:
        """Live queries that a change of ``dashboard`` may alter run again."""
        listing = [(h, h.listing()) for h in self._holders]
        live = [(h, seen) for h, seen in listing if seen is not None]
        if not live:
            return
        try:
            members = await self._checker.members(dashboard)
        except TandemError as exc:
            _log.warning("access.members_failed", error=exc.code)
            members = frozenset()
        for holder, seen in live:
            if dashboard in seen or holder.user_id in members:
                holder.listing_stale()

    # -- checking -----------------------------------------------------------------------

    async def check(self, holders: list[Holder]) -> None:
        """Re-check ``holders`` with one query; act on what changed."""
        sessions = {h.session_id for h in holders if h.session_id is not None}
        if not sessions:
            return
        pairs = [(d, h.user_id) for h in holders if h.user_id is not None for d in h.watched()]
        try:
            validity = await self._checker.validity(sessions, pairs)
        except TandemError as exc:
            # Cannot tell: keep everyone (closing all on a database hiccup helps nobody).
            _log.warning("access.check_failed", error=exc.code)
            return
        self._roles.put(validity.roles)
        for holder in holders:
            _judge(holder, validity)

    async def _sweeping(self) -> None:
        await periodically(
            lambda: self._interval,
            lambda: self.check(list(self._holders)),
            lambda error: _log.error("access.sweep_failed", exc_info=error),
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="access.check")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _judge(holder: Holder, validity: Validity) -> None:
    if holder.session_id not in validity.live_sessions:
        holder.revoked("session", None)
        return
    user = holder.user_id
    assert user is not None
    for dashboard, was in list(holder.watched().items()):
        role = validity.roles.get((dashboard, user), was)
        if role is None:
            holder.revoked("access", dashboard)
            return
        if role != was:
            holder.role_changed(dashboard, role)
