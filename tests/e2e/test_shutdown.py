"""SIGTERM of the gateway holding a dashboard's lock while clients keep editing: it tells its
clients to reconnect (1012), finishes what it has under way and lets go of the lock at once, so
the other gateway sequences the queue long before the lock's TTL, and no op is rejected or
lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import websockets

from server.core.ids import DashboardId
from server.redis.keys import Keys
from tests.e2e.conftest import Account, GatewayPair
from tests.e2e.harness import Gateway, editing_scenario, run_cli
from tests.e2e.lockholder import named_by
from tests.e2e.oplog import assert_sound_log

pytestmark = [pytest.mark.node, pytest.mark.slow]

# Long enough that a handover after the TTL could not pass for one at once.
LOCK_TTL_MS = 15_000


@pytest.fixture
def long_ttl_gateways(gateway_pair: GatewayPair) -> Iterator[list[Gateway]]:
    yield from gateway_pair({"TANDEM_LOCK_TTL_MS": str(LOCK_TTL_MS)})


async def _close_code(url: str, token: str, done: asyncio.Event) -> int | None:
    async with websockets.connect(url) as ws:
        await ws.recv()
        await ws.send(f'{{"a":"auth","token":"{token}"}}')
        await ws.recv()
        done.set()
        try:
            async with asyncio.timeout(30):
                while True:
                    await ws.recv()
        except websockets.ConnectionClosed:
            pass
        return ws.close_code


def test_sigterm_hands_over_at_once_and_rejects_nothing(
    node_dir: Path,
    node_bin: str,
    long_ttl_gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
    redis_url: str,
    database_url: str,
) -> None:
    gateways = long_ttl_gateways
    dashboard = new_dashboard()
    keys = Keys(prefix=e2e_env["TANDEM_REDIS_PREFIX"])
    lock_key = keys.lock(DashboardId(uuid.UUID(dashboard)))
    scenario = editing_scenario(
        node_dir,
        [g.url for g in gateways],
        [accounts["owner"].token, accounts["editor"].token],
        dashboard,
        clients=4,
        ops=150,
        interval_ms=20,
        seed=12,
    )
    client = redis.Redis.from_url(redis_url)
    loop = asyncio.new_event_loop()
    try:
        assert scenario.next_event(timeout=30)["event"] == "ready"
        time.sleep(0.5)
        deadline = time.monotonic() + 10
        while (holder := named_by(client.get(lock_key), gateways)) is None:
            assert time.monotonic() < deadline, "nobody held the lock"
            time.sleep(0.005)
        [other] = [g for g in gateways if g is not holder]
        connected = asyncio.Event()
        watcher = loop.create_task(_close_code(holder.url, accounts["viewer"].token, connected))
        loop.run_until_complete(asyncio.wait_for(connected.wait(), 10))
        terminated = time.monotonic()
        assert holder.process is not None
        holder.process.terminate()
        holder.process.wait(timeout=LOCK_TTL_MS / 1000)
        exited = time.monotonic() - terminated
        # The lock was let go of, not left to expire: gone, or taken by the other gateway.
        assert named_by(client.get(lock_key), [holder]) is None
        assert loop.run_until_complete(watcher) == 1012
        result = scenario.result(timeout=90, gateways=gateways)
    finally:
        scenario.close()
        client.close()
        loop.close()
    assert exited < LOCK_TTL_MS / 1000 / 2, exited
    assert result["rejected"] == [] and result["unacked"] == []
    acked = result["acked"]
    assert len(acked) == len(set(acked)) == 4 * 150
    fresh = result["fresh"]
    assert Counter(fresh["data"]["widgets"]["log"]["data"]["marks"]) == Counter(acked)
    for c in result["clients"]:
        assert c["data"] == fresh["data"] and c["v"] == fresh["v"], c["name"]
        assert c["url"] == other.url, c["name"]
    assert_sound_log(database_url, dashboard, fresh["v"])
    assert run_cli(e2e_env, "verify", dashboard)["ok"] is True
