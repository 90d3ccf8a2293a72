"""Query messages: the dashboards a user can see, filtered, with their snapshots.

A subscribed query (``qs``) stays live in :class:`LiveQueries`: when an access change may alter
what the user sees (:meth:`server.access.revalidate.Revalidator.apply` calls
:meth:`LiveQueries.stale` on that user's connections only), its queries run again after a short
pause that gathers a burst of changes into one run, and the difference between the old and the
new ids goes out as a ``q`` diff. Runs of one connection never overlap, and a change that lands
while the first answer is read makes it run again, so no change falls between the two.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from server.core import log
from server.core.errors import TandemError
from server.core.ids import DashboardId
from server.core.oplog import Snapshot
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import not_found
from server.protocol.names import echo
from server.protocol.query import DashboardQuery, parse_query
from server.protocol.query_diff import Insert, diff_results

if TYPE_CHECKING:
    from server.gateway.dispatch import Dispatcher

_log = log.get(__name__)

# How long a stale connection waits before running its queries again: changes announced
# together (a share and its audit, several collaborators added) cost one run.
RERUN_DELAY = 0.05


@dataclass
class _Live:
    query: DashboardQuery
    ids: list[str]


class LiveQueries:
    """One connection's subscribed queries and the ids each last answered."""

    def __init__(self, d: Dispatcher) -> None:
        self._d = d
        self._live: dict[int, _Live] = {}
        self._lock = asyncio.Lock()  # one run (a first answer or a re-run) at a time
        self._changes = 0  # how many times stale() was called
        self._scheduled = False

    def listing(self) -> frozenset[DashboardId] | None:
        """The dashboards the live queries answered; None when there is none."""
        if not self._live:
            return None
        return frozenset(DashboardId(UUID(i)) for live in self._live.values() for i in live.ids)

    def stale(self) -> None:
        """What the user sees may have changed: run the queries again soon."""
        self._changes += 1
        if self._live and not self._scheduled:
            self._scheduled = True
            self._d.link.spawn(self._rerun_all(), "ws.query_rerun")

    async def subscribe(self, message: m.QuerySubscribe, query: DashboardQuery) -> None:
        async with self._lock:
            seen = self._changes
            ids, snapshots = await self.answer(query)
            self._live[message.query_id] = _Live(query, ids)
            self._d.link.send(
                outgoing.query_results(
                    message.action, message.query_id, zip(ids, snapshots, strict=True)
                )
            )
        if self._changes != seen:
            self.stale()

    def unsubscribe(self, query_id: int) -> None:
        self._live.pop(query_id, None)

    async def answer(self, query: DashboardQuery) -> tuple[list[str], list[Snapshot]]:
        """The ids the query answers now, with their snapshots (through an outage)."""
        ids = await self._d.patiently(lambda: self._ids(query), "query")
        return ids, await self._snapshots(ids)

    async def _snapshots(self, ids: list[str]) -> list[Snapshot]:
        return list(
            await asyncio.gather(*(self._d.hub.snapshot(DashboardId(UUID(i))) for i in ids))
        )

    async def _ids(self, query: DashboardQuery) -> list[str]:
        rows = await self._d.services.catalog.dashboards_for(
            self._d.user, title_contains=query.title, search=query.search,
            limit=query.limit, skip=query.skip,
        )  # fmt: skip
        return [str(row.id) for row in rows]

    async def _rerun_all(self) -> None:
        await asyncio.sleep(RERUN_DELAY)
        self._scheduled = False  # a change from here on schedules another run
        async with self._lock:
            for query_id, live in list(self._live.items()):
                try:
                    await self._rerun(query_id, live)
                except TandemError as exc:  # the next change, or a resubscribe, runs it again
                    _log.warning("ws.query_rerun_failed", error=exc.code)

    async def _rerun(self, query_id: int, live: _Live) -> None:
        d = self._d
        ids = await self._ids(live.query)  # not retried: the lock would wait for it
        changes = diff_results(live.ids, ids)
        if not changes or self._live.get(query_id) is not live:
            return
        inserted = [i for change in changes if isinstance(change, Insert) for i in change.ids]
        snapshots = await self._snapshots(inserted)
        if self._live.get(query_id) is not live:  # unsubscribed meanwhile
            return
        live.ids = ids
        d.link.push(
            outgoing.query_diff(query_id, changes, dict(zip(inserted, snapshots, strict=True)))
        )


async def query(d: Dispatcher, message: m.QueryFetch | m.QuerySubscribe) -> None:
    where = echo(message)
    if message.collection != outgoing.COLLECTION:
        raise not_found(where)
    parsed = parse_query(message.query, echo=where)
    if isinstance(message, m.QuerySubscribe):
        await d.queries.subscribe(message, parsed)
        return
    ids, snapshots = await d.queries.answer(parsed)
    d.link.send(
        outgoing.query_results(message.action, message.query_id, zip(ids, snapshots, strict=True))
    )


async def unsubscribe(d: Dispatcher, message: m.QueryUnsubscribe) -> None:
    d.queries.unsubscribe(message.query_id)
    d.link.send(outgoing.query_unsubscribed(message.query_id))
