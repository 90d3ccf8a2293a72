"""The gateway over real sockets: a real app (PostgreSQL, Redis, hub) on an ephemeral port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from server.core.settings import Settings
from tests.server.gateway_harness import Gateway, open_client, running_gateway, title_op

JSON0 = "http://sharejs.org/types/JSONv0"


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Gateway]:
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        max_message_bytes=64 * 1024,
        max_json_depth=16,
        presence_throttle=0.0,
    )
    async with running_gateway(settings) as gw:
        yield gw


@pytest.fixture(scope="module")
async def team(gateway: Gateway) -> dict[str, tuple[object, str]]:
    """An owner, an editor, a viewer and a stranger."""
    return {name: await gateway.user() for name in ("owner", "editor", "viewer", "stranger")}


async def shared_dashboard(gateway: Gateway, team: dict[str, tuple[object, str]]) -> str:
    return await gateway.dashboard(
        team["owner"][0],  # type: ignore[arg-type]
        editor=team["editor"][0],
        viewer=team["viewer"][0],
    )


def token(team: dict[str, tuple[object, str]], who: str) -> str:
    return team[who][1]


async def test_greeting_handshake_and_ping(gateway: Gateway, team: dict) -> None:
    client = await open_client(gateway.url, handshake=False)
    assert client.init == {
        "a": "init", "protocol": 1, "protocolMinor": 2, "id": client.init["id"], "type": JSON0,
    }  # fmt: skip
    assert len(client.init["id"]) == 32
    # A handshake before auth is held (a stock client must not think it is connected yet)...
    await client.send({"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2})
    assert await client.quiet(0.2) == []
    await client.send({"a": "auth", "token": token(team, "editor")})
    auth = await client.recv()
    assert auth["a"] == "auth" and auth["user"] == str(team["editor"][0])
    # ... and answered once authenticated, with a client id bound to the user.
    hs = await client.recv()
    assert hs == {**client.init, "a": "hs", "id": hs["id"]}
    # A reconnecting client keeps its id; an id that is not the user's is replaced.
    again = await open_client(gateway.url, token(team, "editor"), handshake=False)
    await again.send({"a": "hs", "id": hs["id"], "protocol": 1, "protocolMinor": 2})
    assert (await again.recv())["id"] == hs["id"]
    thief = await open_client(gateway.url, token(team, "viewer"), handshake=False)
    await thief.send({"a": "hs", "id": hs["id"], "protocol": 1, "protocolMinor": 2})
    assert (await thief.recv())["id"] != hs["id"]
    for other in (again, thief):
        await other.close()
    assert await client.request({"a": "pp"}) == {"a": "pp"}
    await client.close()


async def test_every_action_needs_authentication_first(gateway: Gateway, team: dict) -> None:
    client = await open_client(gateway.url, handshake=False)
    doc = str(uuid4())
    for message in (
        {"a": "pp"},
        {"a": "f", "c": "dashboards", "d": doc},
        {"a": "qf", "id": 1, "c": "dashboards", "q": {}},
    ):
        reply = await client.request(message)
        assert reply["error"]["code"] == "unauthenticated", reply
    await client.send({"a": "auth", "token": token(team, "editor")})
    assert (await client.recv())["a"] == "auth"
    assert await client.request({"a": "pp"}) == {"a": "pp"}
    await client.close()


async def test_subscribe_op_ack_and_broadcast(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    alice = await open_client(gateway.url, token(team, "editor"))
    bob = await open_client(gateway.url, token(team, "viewer"))
    owner = await open_client(gateway.url, token(team, "owner"))
    for client in (alice, bob):
        reply = await client.request({"a": "s", "c": "dashboards", "d": doc})
        assert reply["data"]["v"] == 1 and reply["data"]["type"] == JSON0
        assert reply["data"]["data"]["title"] == "Ops"

    ack = await alice.op(doc, 1, title_op("Ops", "Revenue"))
    assert ack == {"a": "op", "c": "dashboards", "d": doc, "v": 1, "src": alice.id,
                   "seq": 1}  # fmt: skip
    broadcast = await bob.expect(lambda m: m.get("a") == "op")
    assert broadcast == {**ack, "op": title_op("Ops", "Revenue")}
    assert await alice.quiet(0.2) == []  # no echo of its own op besides the ack

    # The owner was not subscribed: its op at the old version is transformed and acknowledged
    # after the op it missed, as ShareDB's agent does.
    await owner.send({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 1,
                      "op": [{"p": ["description"], "od": "", "oi": "weekly"}]})  # fmt: skip
    missed = await owner.recv()
    assert missed["v"] == 1 and missed["op"] == title_op("Ops", "Revenue")
    ack2 = await owner.recv()
    assert ack2 == {"a": "op", "c": "dashboards", "d": doc, "v": 2, "src": owner.id,
                    "seq": 1}  # fmt: skip
    assert (await bob.expect(lambda m: m.get("a") == "op"))["v"] == 2

    fetched = await owner.request({"a": "f", "c": "dashboards", "d": doc})
    assert fetched["data"]["v"] == 3
    assert fetched["data"]["data"]["title"] == "Revenue"
    assert fetched["data"]["data"]["description"] == "weekly"
    assert await gateway.document(doc) == (3, fetched["data"]["data"])

    await bob.request({"a": "u", "c": "dashboards", "d": doc})
    await alice.op(doc, 3, title_op("Revenue", "Costs"))
    assert await bob.quiet(0.3) == []
    for client in (alice, bob, owner):
        await client.close()


async def test_subscribe_and_fetch_from_a_version_send_ops(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    editor = await open_client(gateway.url, token(team, "editor"))
    await editor.op(doc, 1, title_op("Ops", "A"))
    await editor.op(doc, 2, title_op("A", "B"))
    viewer = await open_client(gateway.url, token(team, "viewer"))
    await viewer.send({"a": "s", "c": "dashboards", "d": doc, "v": 1})
    ops = [await viewer.recv(), await viewer.recv()]
    assert [(m["a"], m["v"]) for m in ops] == [("op", 1), ("op", 2)]
    assert await viewer.recv() == {"a": "s", "c": "dashboards", "d": doc}
    await editor.op(doc, 3, title_op("B", "C"))
    assert (await viewer.expect(lambda m: m.get("a") == "op"))["v"] == 3

    await viewer.send({"a": "f", "c": "dashboards", "d": doc, "v": 2})
    assert [(await viewer.recv())["v"], (await viewer.recv())["v"]] == [2, 3]
    assert await viewer.recv() == {"a": "f", "c": "dashboards", "d": doc}

    at_two = await viewer.request({"a": "nf", "id": 7, "c": "dashboards", "d": doc, "v": 2})
    assert at_two == {"a": "nf", "id": 7, "v": 2, "type": JSON0,
                      "data": {**at_two["data"], "title": "A"}, "m": None}  # fmt: skip
    latest = await viewer.request({"a": "nt", "id": 8, "c": "dashboards", "d": doc})
    assert latest["v"] == 4 and latest["data"]["title"] == "C"
    for client in (editor, viewer):
        await client.close()


async def test_viewer_cannot_submit(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    viewer = await open_client(gateway.url, token(team, "viewer"))
    reply = await viewer.request(
        {"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 1, "op": title_op("Ops", "x")}
    )
    assert reply["error"]["code"] == "forbidden"
    assert reply["seq"] == 1 and reply["d"] == doc
    # still connected, and the dashboard is unchanged
    assert await viewer.request({"a": "pp"}) == {"a": "pp"}
    assert (await gateway.document(doc))[0] == 1
    await viewer.close()


async def test_non_members_cannot_tell_a_dashboard_exists(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    stranger = await open_client(gateway.url, token(team, "stranger"))
    missing = str(uuid4())
    answers = []
    for d in (doc, missing):
        for message in (
            {"a": "f", "c": "dashboards", "d": d},
            {"a": "s", "c": "dashboards", "d": d},
            {"a": "nf", "id": 1, "c": "dashboards", "d": d, "v": 1},
            {"a": "op", "c": "dashboards", "d": d, "v": 1, "seq": 1, "op": title_op("Ops", "x")},
            {"a": "ps", "ch": f"dashboards.{d}", "seq": 1},
        ):
            reply = await stranger.request(message)
            assert "data" not in reply
            answers.append({k: v for k, v in reply.items() if k not in ("d", "ch")})
    half = len(answers) // 2
    assert answers[:half] == answers[half:]  # the same answers for both
    assert {a["error"]["code"] for a in answers} == {"not_found"}
    bulk = await stranger.request({"a": "bf", "c": "dashboards", "b": [doc, missing]})
    assert bulk["data"][doc] == bulk["data"][missing]
    assert bulk["data"][doc]["error"]["code"] == "not_found"
    # someone else's op is not relayed to it either
    editor = await open_client(gateway.url, token(team, "editor"))
    await editor.op(doc, 1, title_op("Ops", "secret"))
    assert await stranger.quiet(0.3) == []
    for client in (stranger, editor):
        await client.close()


async def test_bulk_fetch_and_subscribe(gateway: Gateway, team: dict) -> None:
    first = await shared_dashboard(gateway, team)
    second = await shared_dashboard(gateway, team)
    viewer = await open_client(gateway.url, token(team, "viewer"))
    reply = await viewer.request({"a": "bs", "c": "dashboards", "b": [first, second]})
    assert set(reply["data"]) == {first, second}
    assert reply["data"][first]["v"] == 1
    editor = await open_client(gateway.url, token(team, "editor"))
    await editor.op(doc := second, 1, title_op("Ops", "x"))
    assert (await viewer.expect(lambda m: m.get("a") == "op"))["d"] == doc
    await viewer.send({"a": "bf", "c": "dashboards", "b": {second: 1}})
    assert (await viewer.recv())["v"] == 1
    assert await viewer.recv() == {"a": "bf", "c": "dashboards", "b": {second: 1}}
    assert await viewer.request({"a": "bu", "c": "dashboards", "b": [first, second]}) == {
        "a": "bu", "c": "dashboards", "b": [first, second],
    }  # fmt: skip
    await editor.op(second, 2, title_op("x", "y"))
    assert await viewer.quiet(0.3) == []
    for client in (viewer, editor):
        await client.close()


async def test_bad_input_gets_errors_and_changes_nothing(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    bystander = await open_client(gateway.url, token(team, "viewer"))
    await bystander.request({"a": "s", "c": "dashboards", "d": doc})
    client = await open_client(gateway.url, token(team, "editor"))
    cases = [
        ("{not json", "bad_json"),
        ('{"a":"pp","x":NaN}', "bad_json"),
        ('{"a":"f","c":"dashboards","d":"\\u0000"}', "bad_json"),
        (json.dumps({"a": "pp", "x": 2**60}), "bad_json"),
        ('{"a":' + "[" * 20 + "]" * 20 + "}", "bad_json"),
        (json.dumps({"a": "launch"}), "unknown_action"),
        (json.dumps({"a": "f", "c": "dashboards", "d": doc, "extra": 1}), "invalid_message"),
        (json.dumps({"a": "f", "c": "dashboards", "d": doc.upper()}), "not_found"),
        (json.dumps({"a": "f", "c": "users", "d": doc}), "not_found"),
        (json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 1,
                     "op": [{"p": ["nope", 3], "li": 1}]}), None),
        (json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 2,
                     "op": [{"p": ["title"], "na": 1}]}), None),
        (json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 5,
                     "op": [{"p": ["bogus"], "oi": 1}]}), None),
        (json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": 99, "seq": 3,
                     "op": title_op("Ops", "x")}), "op_from_future"),
        (json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 4,
                     "create": {"type": "rich-text", "data": {}}}), "invalid_op"),
        (json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": None, "seq": 6,
                     "create": {"type": JSON0, "data": {}}}), "already_created"),
    ]  # fmt: skip
    for frame, code in cases:
        await client.send(frame)
        reply = await client.expect(lambda m: "error" in m)
        if code is not None:
            assert reply["error"]["code"] == code, (frame, reply)
        else:  # the OT core's codes pass through (invalid_op, invalid_path, apply_failed, ...)
            assert reply["error"]["code"] not in ("internal_error", "bad_json"), reply
            assert reply["a"] == "op" and "seq" in reply
    assert await client.request({"a": "pp"}) == {"a": "pp"}
    assert await bystander.quiet(0.3) == []
    assert (await gateway.document(doc))[0] == 1
    # the dashboard still takes good ops
    assert (await client.op(doc, 1, title_op("Ops", "fine")))["v"] == 1
    assert (await bystander.expect(lambda m: m.get("a") == "op"))["v"] == 1
    for c in (client, bystander):
        await c.close()


async def test_oversize_message_closes_with_1009(gateway: Gateway, team: dict) -> None:
    other = await open_client(gateway.url, token(team, "editor"))
    client = await open_client(gateway.url, token(team, "editor"))
    await client.send({"a": "pp", "pad": "x" * (64 * 1024)})
    code, _ = await client.closed()
    assert code == 1009
    assert any(m.get("error", {}).get("code") == "message_too_large" for m in client.backlog)
    assert await other.request({"a": "pp"}) == {"a": "pp"}
    await other.close()


async def test_presence_relay_snapshot_and_clearing(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    ch = f"dashboards.{doc}"
    alice = await open_client(gateway.url, token(team, "editor"))
    bob = await open_client(gateway.url, token(team, "viewer"))
    assert await alice.request({"a": "ps", "ch": ch, "seq": 1}) == {"a": "ps", "ch": ch, "seq": 1}
    await alice.request({"a": "s", "c": "dashboards", "d": doc})
    value = {"widget": "w1", "cursor": 3}
    sent = {"a": "p", "ch": ch, "id": "bob-cursor", "p": value, "pv": 0, "c": "dashboards",
            "d": doc, "v": 1, "t": JSON0}  # fmt: skip
    unplaced = await bob.request({"a": "p", "ch": ch, "id": "x", "p": {"cursor": 1}, "pv": 0})
    assert unplaced["error"]["code"] == "invalid_message" and unplaced["id"] == "x"
    echo = await bob.request(sent)
    assert echo["id"] == "bob-cursor" and echo["pv"] == 0 and "error" not in echo
    relayed = await alice.expect(lambda m: m.get("a") == "p")
    assert relayed == {**sent, "src": bob.id}
    # a late subscriber gets the current presences right after its subscription reply
    carol = await open_client(gateway.url, token(team, "owner"))
    assert (await carol.request({"a": "ps", "ch": ch, "seq": 1}))["seq"] == 1
    current = await carol.expect(lambda m: m.get("a") == "p")
    assert current["id"] == "bob-cursor" and current["p"] == value
    # leaving clears it for everyone
    await bob.close()
    gone = await alice.expect(lambda m: m.get("a") == "p")
    assert gone["id"] == "bob-cursor" and gone["p"] is None and gone["pv"] == 1
    for client in (alice, carol):
        await client.close()


async def test_queries_list_only_visible_dashboards(gateway: Gateway, team: dict) -> None:
    user, key = await gateway.user()
    mine = await gateway.dashboard(user, title="Quarterly plan")
    await gateway.dashboard(user, title="Weekly ops")
    hidden = await gateway.dashboard(team["owner"][0], title="Quarterly secret")  # type: ignore[arg-type]
    client = await open_client(gateway.url, key)
    reply = await client.request({"a": "qf", "id": 1, "c": "dashboards", "q": {"title": "quarter"}})
    assert [item["d"] for item in reply["data"]] == [mine]
    assert reply["data"][0]["data"]["title"] == "Quarterly plan" and reply["data"][0]["v"] == 1
    everything = await client.request({"a": "qs", "id": 2, "c": "dashboards", "q": {"$limit": 10}})
    assert len(everything["data"]) == 2 and hidden not in {i["d"] for i in everything["data"]}
    assert await client.request({"a": "qu", "id": 2}) == {"a": "qu", "id": 2}
    bad = await client.request({"a": "qf", "id": 3, "c": "dashboards", "q": {"$where": "1"}})
    assert bad["error"]["code"] == "invalid_message"
    await client.close()


async def test_domain_op_is_acknowledged_with_its_json0(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    client = await open_client(gateway.url, token(team, "editor"))
    await client.send({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": 1,
                       "dop": [{"type": "update", "path": ["title"], "value": "Domain"}]})  # fmt: skip
    reply = await client.expect(lambda m: m.get("a") == "op")
    assert "error" not in reply, reply
    assert reply["v"] == 1 and reply["op"]
    assert (await gateway.document(doc))[1]["title"] == "Domain"
    await client.close()


async def test_health_and_readiness(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}") as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_server_keeps_serving_after_abrupt_disconnects(gateway: Gateway, team: dict) -> None:
    doc = await shared_dashboard(gateway, team)
    for _ in range(5):
        client = await open_client(gateway.url, token(team, "editor"))
        await client.send({"a": "s", "c": "dashboards", "d": doc})
        client.ws.transport.abort()  # no close handshake
    await asyncio.sleep(0.2)
    survivor = await open_client(gateway.url, token(team, "editor"))
    assert (await survivor.op(doc, 1, title_op("Ops", "still here")))["v"] == 1
    await survivor.close()
