"""Presence over real sockets: ids belong to the connection that set them, values and counts
are bounded, and a presence far behind the head is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.server.conftest import Serve
from tests.server.gateway_harness import Client, Gateway, open_client, title_op

PER_CONNECTION = 3
PER_DASHBOARD = 5
MAX_LAG = 2


@pytest.fixture(scope="module")
async def gateway(served: Serve) -> AsyncIterator[Gateway]:
    async with served(
        presence_throttle=0.0,
        presence_max_bytes=1000,
        presence_per_connection=PER_CONNECTION,
        presence_per_dashboard=PER_DASHBOARD,
        presence_max_lag=MAX_LAG,
    ) as gw:
        yield gw


async def setup(gateway: Gateway) -> tuple[str, str, Client, Client]:
    """A dashboard, its owner's token, and connections of the owner and of a viewer."""
    owner, owner_key = await gateway.user()
    viewer, viewer_key = await gateway.user()
    doc = await gateway.dashboard(owner, viewer=viewer)
    owner_client = await open_client(gateway.url, owner_key)
    return doc, owner_key, owner_client, await open_client(gateway.url, viewer_key)


def presence(doc: str, pid: str, value: Any, pv: int = 1, v: int = 1) -> dict[str, Any]:
    return {"a": "p", "ch": f"dashboards.{doc}", "id": pid, "p": value, "pv": pv,
            "c": "dashboards", "d": doc, "v": v}  # fmt: skip


async def shown(gateway: Gateway, key: str, doc: str) -> dict[str, Any]:
    """The presences a newly subscribing client is sent: id -> value."""
    late = await open_client(gateway.url, key)
    await late.request({"a": "ps", "ch": f"dashboards.{doc}", "seq": 1})
    current = {m["id"]: m["p"] for m in await late.quiet(0.5) if m.get("a") == "p"}
    await late.close()
    return current


MINE = {"selection": {"p": ["title"], "index": 1, "length": 0}}


async def test_a_foreign_presence_id_cannot_be_written_or_cleared(gateway: Gateway) -> None:
    doc, owner_key, owner, viewer = await setup(gateway)
    assert "error" not in await owner.request(presence(doc, "owner-cursor", MINE))
    spoof = await viewer.request(presence(doc, "owner-cursor", {"fake": True}, pv=2))
    assert spoof["error"]["code"] == "presence_not_owned"
    cleared = await viewer.request(presence(doc, "owner-cursor", None, pv=3))
    assert "error" not in cleared  # acknowledged, but nothing of the viewer's to clear
    # another connection of the same user is another owner too
    second = await open_client(gateway.url, owner_key)
    taken = await second.request(presence(doc, "owner-cursor", {"fake": True}, pv=4))
    assert taken["error"]["code"] == "presence_not_owned"
    assert await shown(gateway, owner_key, doc) == {"owner-cursor": MINE}
    # the owner's own removal releases the id for anyone
    assert "error" not in await owner.request(presence(doc, "owner-cursor", None, pv=2))
    assert "error" not in await viewer.request(presence(doc, "owner-cursor", MINE, pv=5))
    for client in (owner, viewer, second):
        await client.close()


async def test_oversize_presence_is_refused_and_not_stored(gateway: Gateway) -> None:
    doc, owner_key, owner, viewer = await setup(gateway)
    big = {"note": "x" * 1000}
    refused = await viewer.request(presence(doc, "big", big))
    assert refused["error"]["code"] == "presence_too_large"
    long_id = await viewer.request(presence(doc, "i" * 200, MINE))
    assert long_id["error"]["code"] == "invalid_message"
    assert await shown(gateway, owner_key, doc) == {}
    for client in (owner, viewer):
        await client.close()


async def test_presence_ids_are_capped_per_connection_and_per_dashboard(gateway: Gateway) -> None:
    doc, owner_key, owner, viewer = await setup(gateway)
    for i in range(PER_CONNECTION):
        assert "error" not in await viewer.request(presence(doc, f"v{i}", MINE))
    over = await viewer.request(presence(doc, "one-more", MINE))
    assert over["error"]["code"] == "too_many_presences"
    # an id already held may change as often as it likes
    assert "error" not in await viewer.request(presence(doc, "v0", MINE, pv=2))
    for i in range(PER_DASHBOARD - PER_CONNECTION):
        assert "error" not in await owner.request(presence(doc, f"o{i}", MINE))
    full = await owner.request(presence(doc, "o-last", MINE))
    assert full["error"]["code"] == "too_many_presences"
    assert len(await shown(gateway, owner_key, doc)) == PER_DASHBOARD
    # a connection that goes releases what it held
    await viewer.close()
    await owner.quiet(0.3)
    assert "error" not in await owner.request(presence(doc, "o-last", MINE))
    await owner.close()


async def test_presence_far_behind_the_head_is_refused(gateway: Gateway) -> None:
    doc, owner_key, owner, viewer = await setup(gateway)
    title = "Ops"
    for version in range(1, 6):
        assert "error" not in await owner.op(doc, version, title_op(title, f"t{version}"))
        title = f"t{version}"
    await viewer.request({"a": "s", "c": "dashboards", "d": doc})
    old = await viewer.request(presence(doc, "late", MINE, v=1))
    assert old["error"]["code"] == "presence_too_old"
    recent = await viewer.request(presence(doc, "late", MINE, v=6 - MAX_LAG))
    assert "error" not in recent
    # not subscribed: too old a value is dropped instead of carried through the history
    dropped = await owner.request(presence(doc, "unsubscribed", MINE, v=1))
    assert "error" not in dropped
    assert set(await shown(gateway, owner_key, doc)) == {"late"}
    for client in (owner, viewer):
        await client.close()
