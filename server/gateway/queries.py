"""Query messages: the dashboards a user can see, filtered, with their snapshots."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.core.ids import DashboardId
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import not_found
from server.protocol.names import echo
from server.protocol.query import parse_query

if TYPE_CHECKING:
    from server.gateway.dispatch import Dispatcher


async def query(d: Dispatcher, message: m.QueryFetch | m.QuerySubscribe) -> None:
    where = echo(message)
    if message.collection != outgoing.COLLECTION:
        raise not_found(where)
    parsed = parse_query(message.query, echo=where)
    rows = await d.patiently(
        lambda: d.services.catalog.dashboards_for(
            d.user,
            title_contains=parsed.title,
            search=parsed.search,
            limit=parsed.limit,
            skip=parsed.skip,
        ),
        "query",
    )
    ids = [DashboardId(row.id) for row in rows]
    snapshots = await asyncio.gather(*(d.hub.snapshot(dashboard) for dashboard in ids))
    if isinstance(message, m.QuerySubscribe):
        d.session.query_subscribed(message.query_id)
    d.link.send(
        outgoing.query_results(
            message.action, message.query_id, zip((str(i) for i in ids), snapshots, strict=True)
        )
    )


async def unsubscribe(d: Dispatcher, message: m.QueryUnsubscribe) -> None:
    d.link.send(d.session.query_unsubscribed(message.query_id))
