"""A closed connection leaves nothing for the cycle collector.

Serving processes collect cycles rarely (``server.app.GC_THRESHOLDS``: a full collection every
few hours under load), so whatever a closed connection leaves in a reference cycle (its
socket, request, buffers, session) stays in memory that long, and the resident size of a
process whose clients come and go grows by that much. Here, with the cycle collector off,
clients connect, authenticate, subscribe, submit, set a presence and leave: afterwards none of
the server's objects of theirs is left. And a re-check that still holds a closed connection's
standing does nothing.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from websockets.server import ServerProtocol

from server.core.ids import DashboardId
from server.gateway.connection import Connection
from server.gateway.dispatch import Dispatcher
from server.gateway.handshake import GuardedHttp
from server.gateway.wsbatch import PROTOCOL
from server.protocol.session import Session
from tests.server.conftest import Serve
from tests.server.gateway_harness import Gateway, eventually, open_client, title_op

HANDSHAKE_TIMEOUT = 0.2  # an upgraded connection's HTTP protocol lives until this deadline
CLIENTS = 20
KINDS = {
    k
    for k in (Connection, Dispatcher, Session, GuardedHttp, PROTOCOL, ServerProtocol)
    if k is not None
}


@pytest.fixture(scope="module")
async def gateway(served: Serve) -> AsyncIterator[Gateway]:
    async with served(handshake_timeout=HANDSHAKE_TIMEOUT, presence_throttle=0.0) as gw:
        yield gw


def alive() -> Counter[str]:
    """The server's per-connection objects that exist, reachable or not."""
    return Counter(type(o).__name__ for o in gc.get_objects() if type(o) in KINDS)


async def visit(gateway: Gateway, token: str, doc: str, title: str) -> str:
    """One client's visit: subscribe, submit, a presence; then it leaves. The new title."""
    client = await open_client(gateway.url, token)
    reply = await client.request({"a": "s", "c": "dashboards", "d": doc})
    version = reply["data"]["v"]
    ch = f"dashboards.{doc}"
    await client.request({"a": "ps", "ch": ch, "seq": 1})
    new = f"{title}+"
    ack = await client.op(doc, version, title_op(title, new))
    assert "error" not in ack, ack
    presence = {"a": "p", "ch": ch, "id": "cursor", "p": {"cursor": 1}, "pv": 0,
                "c": "dashboards", "d": doc, "v": version + 1}  # fmt: skip
    assert "error" not in await client.request(presence)
    await client.close()
    return new


async def test_closed_connections_are_freed_without_the_cycle_collector(gateway: Gateway) -> None:
    owner, token = await gateway.user()
    doc = await gateway.dashboard(owner, title="T")
    title = await visit(gateway, token, doc, "T")  # what the first visit creates stays
    connections = gateway.services.gateway.connections
    await eventually(lambda: not connections)
    await asyncio.sleep(HANDSHAKE_TIMEOUT * 2)
    gc.collect()
    gc.disable()
    try:
        before = alive()
        for _ in range(CLIENTS):
            title = await visit(gateway, token, doc, title)
        await eventually(lambda: not connections)
        await asyncio.sleep(HANDSHAKE_TIMEOUT * 2)
        left = alive() - before
    finally:
        gc.enable()
    assert left == Counter(), f"left after {CLIENTS} connections came and went: {dict(left)}"


async def test_a_recheck_under_way_when_its_connection_goes_does_nothing(gateway: Gateway) -> None:
    """The revalidator may still judge a connection it picked up before the connection closed;
    the connection itself may be gone by then (its parts hold it weakly)."""
    owner, token = await gateway.user()
    doc = await gateway.dashboard(owner, title="T")
    client = await open_client(gateway.url, token)
    await client.request({"a": "s", "c": "dashboards", "d": doc})
    await client.request({"a": "qs", "id": 1, "c": "dashboards", "q": {}})
    connections = gateway.services.gateway.connections
    [connection] = connections
    standing = connection.dispatcher.standing
    assert standing.listing() is not None
    del connection
    await client.close()
    await eventually(lambda: not connections)
    gc.collect()
    standing.listing_stale()
    standing.role_changed(DashboardId(UUID(doc)), "viewer")
    standing.revoked("session", None)
