"""Tandem on a real Redis Cluster (``TANDEM_REDIS_CLUSTER``): stock clients editing through two
gateways converge, and a kill -9 of the master owning the dashboard's slot while they edit
loses and doubles nothing acknowledged."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

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


@pytest.mark.parametrize("failover", [False, True], ids=["steady", "master-killed"])
def test_clients_on_a_redis_cluster_converge_and_lose_nothing(
    failover: bool,
    node_dir: Path,
    node_bin: str,
    cluster_gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    cluster_env: dict[str, str],
    redis_cluster: RedisCluster,  # noqa: F811
    database_url: str,
) -> None:
    keys = Keys(prefix=cluster_env["TANDEM_REDIS_PREFIX"])
    dashboard = new_dashboard()
    # The pub/sub connection stays on the node REDIS_URL names (see README's known limits):
    # the victim is another master.
    while redis_cluster.master_of(keys.lock(DashboardId(uuid.UUID(dashboard)))) == int(
        redis_cluster.url.rsplit(":", 1)[1].split("/")[0]
    ):
        dashboard = new_dashboard()
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
        if failover:
            time.sleep(0.6)  # well into the submitting
            redis_cluster.kill(redis_cluster.master_of(lock_key))
        result = scenario.result(timeout=90, gateways=cluster_gateways)
    finally:
        scenario.close()
        if failover:
            redis_cluster.revive()

    assert_acked_once(result, database_url, dashboard, CLIENTS * OPS_PER_CLIENT)
    assert run_cli(cluster_env, "verify", dashboard)["ok"] is True
