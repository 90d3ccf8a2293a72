"""The socket's undo and redo (Tandem's extension): a client without an undo stack of its own
undoes its user's newest op; everyone subscribed sees the undo as an ordinary op."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.core.settings import Settings
from tests.server.gateway_harness import Gateway, open_client, running_gateway, title_op


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Gateway]:
    settings = Settings(database_url=database_url, redis_url=redis_url,
                        redis_prefix=f"{redis_prefix}undo:")  # fmt: skip
    async with running_gateway(settings) as gw:
        yield gw


async def test_undo_and_redo_over_the_socket(gateway: Gateway) -> None:
    owner, owner_token = await gateway.user()
    viewer, viewer_token = await gateway.user()
    doc = await gateway.dashboard(owner, "Ops", viewer=viewer)
    editor = await open_client(gateway.url, owner_token)
    watcher = await open_client(gateway.url, viewer_token)
    try:
        await watcher.request({"a": "s", "c": "dashboards", "d": doc})
        ack = await editor.op(doc, 1, title_op("Ops", "Ops 2"))
        assert "error" not in ack
        reply = await editor.request({"a": "undo", "id": 7, "c": "dashboards", "d": doc})
        assert (reply["id"], reply["v"], reply["applied"]) == (7, 3, True)
        version, document = await gateway.document(doc)
        assert (version, document["title"]) == (3, "Ops")
        # The watcher sees the edit and then the undo as ordinary ops.
        await watcher.expect(lambda m: m.get("a") == "op" and m.get("v") == 1)
        undone = await watcher.expect(lambda m: m.get("a") == "op" and m.get("v") == 2)
        assert undone["op"] == [{"p": ["title"], "od": "Ops 2", "oi": "Ops"}]
        redone = await editor.request({"a": "redo", "id": 8, "c": "dashboards", "d": doc})
        assert (redone["v"], redone["applied"]) == (4, True)
        assert (await gateway.document(doc))[1]["title"] == "Ops 2"
        nothing = await editor.request({"a": "redo", "id": 9, "c": "dashboards", "d": doc})
        assert (nothing["v"], nothing["applied"], nothing["reason"]) == (
            None, False, "nothing_to_redo")  # fmt: skip
        refused = await watcher.request({"a": "undo", "id": 1, "c": "dashboards", "d": doc})
        assert refused["error"]["code"] == "forbidden"
    finally:
        await editor.close()
        await watcher.close()
