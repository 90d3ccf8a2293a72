"""Tandem on a real Redis Cluster (``TANDEM_REDIS_CLUSTER``): stock clients editing through two
gateways converge, and a kill -9 while they edit, of the master owning the dashboard's slot or
of the node the gateways' pub/sub is on, loses and doubles nothing acknowledged."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtests.redis_cluster import RedisCluster
from server.core.ids import DashboardId
from server.redis.keys import Keys
from tests.cluster.conftest import redis_cluster  # noqa: F401 - the session's cluster
from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, editing_scenario, run_cli, start_gateways
from tests.e2e.oplog import assert_acked_once

pytestmark = [pytest.mark.node, pytest.mark.slow]

CLIENTS = 4
OPS_PER_CLIENT = 100
INTERVAL_MS = 20


@pytest.fixture
def cluster_env(e2e_env: dict[str, str], redis_cluster: RedisCluster) -> dict[str, str]:  # noqa: F811
    return {**e2e_env, "REDIS_URL": redis_cluster.url, "TANDEM_REDIS_CLUSTER": "true"}


@pytest.fixture
def cluster_gateways(cluster_env: dict[str, str], gateway_logs: Path) -> Iterator[list[Gateway]]:
    started = start_gateways(2, cluster_env, gateway_logs, f"cluster-{uuid.uuid4().hex[:6]}")
    try:
        yield started
    finally:
        for gateway in started:
            gateway.stop()


# What is killed (kill -9) while the clients edit, and whether the dashboard's slot lives on the
# node the gateways' pub/sub is on (the one REDIS_URL names, a master here):
# - steady: nothing;
# - master-killed: the master of the dashboard's slot, another node;
# - pubsub-killed: the pub/sub node, the dashboard's slot elsewhere: the gateways' pub/sub moves
#   to other nodes, subscribes again and catches up from the log;
# - pubsub-and-master-killed: the pub/sub node, which is also the master of the dashboard's
#   slot: the same, while its replica takes over, and records still waiting are queued again.
VICTIMS = {
    "steady": (None, False),
    "master-killed": ("master", False),
    "pubsub-killed": ("pubsub", False),
    "pubsub-and-master-killed": ("pubsub", True),
}


@pytest.mark.parametrize("case", list(VICTIMS))
def test_clients_on_a_redis_cluster_converge_and_lose_nothing(
    case: str,
    node_dir: Path,
    cluster_gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    cluster_env: dict[str, str],
    redis_cluster: RedisCluster,  # noqa: F811
    database_url: str,
) -> None:
    victim, on_seed = VICTIMS[case]
    seed = _seed(redis_cluster)
    redis_cluster.make_master(seed)  # a previous case may have left it a replica
    keys = Keys(prefix=cluster_env["TANDEM_REDIS_PREFIX"])
    dashboard = _dashboard(new_dashboard, keys, redis_cluster, lambda m: (m == seed) == on_seed)
    lock_key = keys.lock(DashboardId(uuid.UUID(dashboard)))
    scenario = editing_scenario(
        node_dir,
        [g.url for g in cluster_gateways],
        [accounts["owner"].token, accounts["editor"].token],
        dashboard,
        clients=CLIENTS,
        ops=OPS_PER_CLIENT,
        interval_ms=INTERVAL_MS,
        seed=14,
    )
    try:
        assert scenario.next_event(timeout=30)["event"] == "ready"
        if victim is not None:
            time.sleep(0.6)  # well into the submitting
            redis_cluster.kill(seed if victim == "pubsub" else redis_cluster.master_of(lock_key))
        result = scenario.result(timeout=90, gateways=cluster_gateways)
    finally:
        scenario.close()
        if victim is not None:
            redis_cluster.revive()

    assert_acked_once(result, database_url, dashboard, CLIENTS * OPS_PER_CLIENT)
    assert run_cli(cluster_env, "verify", dashboard)["ok"] is True
    if victim == "pubsub":
        for gateway in cluster_gateways:
            moved = [e for e in _log_events(gateway) if e.get("event") == "pubsub.moved"]
            assert moved and all(e["port"] != seed for e in moved), gateway.log_tail()


def _seed(cluster: RedisCluster) -> int:
    """The node REDIS_URL names."""
    return int(cluster.url.rsplit(":", 1)[1].split("/")[0])


def _dashboard(
    new_dashboard: Callable[[], str],
    keys: Keys,
    cluster: RedisCluster,
    wanted: Callable[[int], bool],
) -> str:
    """A new dashboard whose lock's master (its port) is ``wanted``."""
    while True:
        dashboard = new_dashboard()
        if wanted(cluster.master_of(keys.lock(DashboardId(uuid.UUID(dashboard))))):
            return dashboard


def _log_events(gateway: Gateway) -> list[dict[str, Any]]:
    events = []
    for line in gateway.log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return [e for e in events if isinstance(e, dict)]
