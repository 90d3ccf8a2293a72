"""What a hostile client's expensive messages cost the server: CPU per presence message sent
at an old version, and per bulk fetch naming thousands of random ids.

One ``tandem serve`` process (presence throttling off, so every message is processed) serves
one client that first builds a history of :data:`HISTORY` ops, subscribes, and then sends
:data:`PRESENCES` presence updates at version 1 and :data:`BULKS` bulk fetches of
:data:`BULK_IDS` random dashboard ids, each waited for. The server's CPU time over each phase,
divided by the messages sent, is the cost per message. ``TANDEM_BENCH_PORT`` picks the port.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loadtests.cpu import CpuProbe, reference_loop_ms, with_children
from loadtests.stack import DASHBOARD_TITLE, ROOT, running_stack
from tests.e2e.harness import Gateway, free_port

HISTORY = 714
PRESENCES = 150
BULKS = 5
BULK_IDS = 5000


async def _reply(ws: ClientConnection, action: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 120))
        if message.get("a") == action:
            return message


async def _open(url: str, token: str) -> ClientConnection:
    ws = await connect(url, max_size=2**26)
    await _reply(ws, "init")
    await ws.send(json.dumps({"a": "auth", "token": token}))
    await _reply(ws, "auth")
    await ws.send(json.dumps({"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2}))
    await _reply(ws, "hs")
    return ws


async def _subscribed(url: str, token: str, doc: str) -> ClientConnection:
    ws = await _open(url, token)
    await ws.send(json.dumps({"a": "s", "c": "dashboards", "d": doc}))
    await _reply(ws, "s")
    return ws


async def _measure(url: str, token: str, doc: str, pid: int) -> dict[str, float]:
    ws = await _open(url, token)
    title = DASHBOARD_TITLE
    for i in range(HISTORY):
        new = f"t{i}"
        op = [{"p": ["title"], "od": title, "oi": new}]
        await ws.send(json.dumps({"a": "op", "c": "dashboards", "d": doc, "v": i + 1,
                                  "seq": i + 1, "op": op}))  # fmt: skip
        await _reply(ws, "op")
        title = new
    await ws.close()
    ws = await _subscribed(url, token, doc)
    await asyncio.sleep(0.5)
    probe = CpuProbe({"tandem": with_children([pid])})
    results: dict[str, float] = {}

    # A server that refuses these closes a connection that keeps sending them (the error
    # limit): the client reconnects, which is part of what it costs the server.
    probe.start()
    started = time.monotonic()
    value = {"selection": {"p": ["title"], "index": 0, "length": 1}}
    for seq in range(1, PRESENCES + 1):
        message = {"a": "p", "ch": f"dashboards.{doc}", "id": "old", "p": value, "pv": seq,
                   "v": 1}  # fmt: skip
        try:
            await ws.send(json.dumps(message))
            await _reply(ws, "p")
        except ConnectionClosed:
            ws = await _subscribed(url, token, doc)
    await asyncio.sleep(0.3)  # what the server still does after its replies
    cpu = probe.stop()["tandem"] * (time.monotonic() - started)
    results["presence_ms"] = round(cpu * 1000 / PRESENCES, 2)

    probe.start()
    started = time.monotonic()
    for _ in range(BULKS):
        ids = [str(uuid.uuid4()) for _ in range(BULK_IDS)]
        try:
            await ws.send(json.dumps({"a": "bf", "c": "dashboards", "b": ids}))
            await _reply(ws, "bf")
        except ConnectionClosed:
            ws = await _open(url, token)
    await asyncio.sleep(0.3)
    cpu = probe.stop()["tandem"] * (time.monotonic() - started)
    results["bulk_ms"] = round(cpu * 1000 / BULKS, 2)
    await ws.close()
    return results


def main() -> None:
    reference = reference_loop_ms()
    with running_stack(ROOT / ".tandem" / "bench-abuse", users=1) as stack:
        [doc] = stack.dashboards([[0]])
        port = int(os.environ.get("TANDEM_BENCH_PORT") or 0) or free_port()
        gateway = Gateway(port=port, log_path=Path(stack.log_dir) / "abuse.log", gateway_id="abuse")
        gateway.start(stack.gateway_env({"TANDEM_PRESENCE_THROTTLE": "0"}))
        try:
            gateway.wait_healthy()
            results = asyncio.run(_measure(gateway.url, stack.accounts[0].token, doc, gateway.pid))
        finally:
            gateway.stop()
    print(f"reference loop: {reference} ms before, {reference_loop_ms()} ms after")
    print(
        f"presence at version 1 of {HISTORY + 1}: {results['presence_ms']} ms of server CPU"
        f" per message ({PRESENCES} sent)"
    )
    print(
        f"bulk fetch of {BULK_IDS} random ids: {results['bulk_ms']} ms of server CPU"
        f" per request ({BULKS} sent)"
    )
