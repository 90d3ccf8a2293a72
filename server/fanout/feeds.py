"""The feeds of one process: at most one :class:`~server.fanout.feed.Feed` per dashboard.

A feed is opened when something needs the dashboard's stream (a listener, a submitter, a
presence publisher) and subscribed on the process's one pub/sub connection; once idle it lingers
(``feed_linger``) so a gateway that submits now and then does not resubscribe each time.
Outcomes reach a feed from pub/sub or, for this process's own batches, directly
(:meth:`FeedRegistry.deliver`): its own messages are dropped when they come back over pub/sub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from server.core import log
from server.core.ids import DashboardId
from server.core.settings import Settings
from server.core.submission import Committed, OpListener
from server.fanout.feed import CATCH_UP, Feed, Resolver
from server.fanout.subscriber import Subscriber
from server.redis.keys import Keys
from server.sequencer.records import BatchOutcome, decode_outcome
from server.store.model import OpLog

_log = log.get(__name__)

Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]


class FeedRegistry:
    def __init__(
        self,
        *,
        store: OpLog,
        subscriber: Subscriber,
        keys: Keys,
        settings: Settings,
        own_messages: bytes,
        resolver: Callable[[DashboardId], Resolver],
        spawn: Spawn,
    ) -> None:
        self._store = store
        self._subscriber = subscriber
        self._keys = keys
        self._settings = settings
        self._own_messages = own_messages  # this process's batch messages: delivered already
        self._resolver = resolver
        self._spawn = spawn
        self._feeds: dict[DashboardId, Feed] = {}
        self._lingering: set[DashboardId] = set()  # idle feeds waiting to be closed
        self._closing = False

    def use(self, dashboard_id: DashboardId, from_version: int | None = None) -> Feed:
        """The dashboard's feed, opened (and subscribed) if there is none."""
        feed = self._feeds.get(dashboard_id)
        if feed is None:
            feed = Feed(
                dashboard_id=dashboard_id,
                store=self._store,
                resolver=self._resolver(dashboard_id),
                poll_interval=self._settings.feed_poll_interval,
                recent_ops=self._settings.feed_recent_ops,
                from_version=from_version,
            )
            self._feeds[dashboard_id] = feed
            self._subscriber.route(
                self._keys.ops_channel(dashboard_id),
                lambda kind, data: self._on_message(feed, kind, data),
            )
        return feed

    def release(self, dashboard_id: DashboardId) -> None:
        """Something stopped needing the feed: close it after the linger if it is then idle."""
        feed = self._feeds.get(dashboard_id)
        if feed is None or not feed.idle or self._closing or dashboard_id in self._lingering:
            return
        self._lingering.add(dashboard_id)
        self._spawn(self._close_idle(feed), f"feed.linger:{dashboard_id}")

    def listen(
        self, dashboard_id: DashboardId, listener: OpListener, from_version: int | None
    ) -> Callable[[], None]:
        feed = self.use(dashboard_id, from_version)
        key = feed.add(listener, from_version)

        def unlisten() -> None:
            feed.remove(key)
            self.release(dashboard_id)

        return unlisten

    def deliver(self, outcome: BatchOutcome) -> None:
        """An outcome this process's own sequencer published."""
        feed = self._feeds.get(outcome.dashboard_id)
        if feed is not None:
            feed.offer(outcome)

    def recent(self, dashboard_id: DashboardId, version: int) -> list[Committed] | None:
        """Delivered ops from ``version`` on, if the dashboard's feed still holds them all."""
        feed = self._feeds.get(dashboard_id)
        return feed.recent_from(version) if feed is not None else None

    def stop_lingering(self) -> None:
        """The process is shutting down: no feed starts lingering any more."""
        self._closing = True

    async def close(self) -> None:
        self._closing = True
        for feed in list(self._feeds.values()):
            await feed.close()
        self._feeds.clear()

    async def _close_idle(self, feed: Feed) -> None:
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

    def _on_message(self, feed: Feed, kind: str, data: bytes | None) -> None:
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
