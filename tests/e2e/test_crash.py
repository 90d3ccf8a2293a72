"""SIGKILL of the gateway holding a dashboard's sequencer lock while clients keep submitting:
no acknowledged op is lost or applied twice, the log stays gapless, the clients move to the
surviving gateway and converge."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from server.core.ids import DashboardId
from server.redis.keys import Keys
from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, editing_scenario, run_cli
from tests.e2e.lockholder import freeze_holder
from tests.e2e.oplog import assert_acked_once

pytestmark = [pytest.mark.node, pytest.mark.slow]

CLIENTS = 4
OPS_PER_CLIENT = 120
INTERVAL_MS = 20


def test_killing_the_lock_holder_loses_and_duplicates_nothing(
    node_dir: Path,
    node_bin: str,
    spare_gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
    redis_url: str,
    database_url: str,
) -> None:
    gateways = spare_gateways
    dashboard = new_dashboard()
    redis_keys = Keys(prefix=e2e_env["TANDEM_REDIS_PREFIX"])
    lock_key = redis_keys.lock(DashboardId(uuid.UUID(dashboard)))
    queue_key = redis_keys.queue(DashboardId(uuid.UUID(dashboard)))
    scenario = editing_scenario(
        node_dir,
        [g.url for g in gateways],
        [accounts["owner"].token, accounts["editor"].token],
        dashboard,
        clients=CLIENTS,
        ops=OPS_PER_CLIENT,
        interval_ms=INTERVAL_MS,
        seed=6,
    )
    try:
        assert scenario.next_event(timeout=30)["event"] == "ready"
        time.sleep(0.6)  # well into the submitting
        victim = freeze_holder(redis_url, lock_key, queue_key, gateways)
        # Frozen a while (a long pause, then the crash): its clients' ops pile up in flight.
        time.sleep(0.3)
        victim.kill()
        killed_at = time.monotonic()
        result = scenario.result(timeout=90, gateways=gateways)
    finally:
        scenario.close()
    [survivor] = [g for g in gateways if g is not victim]
    assert survivor.alive()
    assert time.monotonic() - killed_at < 90

    # Every op acknowledged once (after the resubmits), none rejected; all converged; the
    # document and the log (gapless, (src, seq) unique) hold each acknowledged marker once.
    fresh = assert_acked_once(result, database_url, dashboard, CLIENTS * OPS_PER_CLIENT)
    for client in result["clients"]:
        assert client["url"] == survivor.url or client["connects"] == 1, client["name"]
    moved = [c for c in result["clients"] if c["connects"] > 1]
    assert moved, "no client was connected to the killed gateway"
    assert all(c["url"] == survivor.url for c in moved)
    # What they had in flight went again, with the same src/seq, through the survivor.
    assert sum(len(c["resent"]) for c in moved) >= 1

    verified = run_cli(e2e_env, "verify", dashboard)
    assert verified["ok"] is True
    replayed = run_cli(e2e_env, "replay", dashboard, "--from-scratch")
    assert replayed["document"] == fresh["data"]
