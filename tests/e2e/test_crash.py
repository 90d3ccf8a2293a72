"""SIGKILL of the gateway holding a dashboard's sequencer lock while clients keep submitting:
no acknowledged op is lost or applied twice, the log stays gapless, the clients move to the
surviving gateway and converge."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.core.ids import DashboardId
from server.redis.keys import Keys
from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, editing_scenario, run_cli
from tests.e2e.lockholder import freeze_holder
from tests.e2e.oplog import assert_sound_log

pytestmark = [pytest.mark.node, pytest.mark.slow]

CLIENTS = 4
OPS_PER_CLIENT = 120
INTERVAL_MS = 20


def _inserted_markers(op: Any) -> list[str]:
    if not isinstance(op, list):
        return []
    return [
        c["li"]
        for c in op
        if isinstance(c.get("li"), str) and c["p"][:4] == ["widgets", "log", "data", "marks"]
    ]


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

    # Every op was acknowledged (after the resubmits), none rejected.
    assert result["unacked_error"] is None and result["unacked"] == []
    assert result["rejected"] == []
    acked = result["acked"]
    assert len(acked) == len(set(acked)) == CLIENTS * OPS_PER_CLIENT

    # Each acknowledged marker is in the document exactly once, and nothing else is.
    fresh = result["fresh"]
    marks = fresh["data"]["widgets"]["log"]["data"]["marks"]
    assert Counter(marks) == Counter(acked)
    for client in result["clients"]:
        assert client["data"] == fresh["data"], client["name"]
        assert client["v"] == fresh["v"], client["name"]
        assert client["url"] == survivor.url or client["connects"] == 1, client["name"]
    moved = [c for c in result["clients"] if c["connects"] > 1]
    assert moved, "no client was connected to the killed gateway"
    assert all(c["url"] == survivor.url for c in moved)
    # What they had in flight went again, with the same src/seq, through the survivor.
    assert sum(len(c["resent"]) for c in moved) >= 1

    # ... and in the log exactly once; versions gapless; (src, seq) unique.
    log = assert_sound_log(database_url, dashboard, fresh["v"])
    in_log = Counter(m for op in log for m in _inserted_markers(op.op))
    assert in_log == Counter(acked)

    verified = run_cli(e2e_env, "verify", dashboard)
    assert verified["ok"] is True
    replayed = run_cli(e2e_env, "replay", dashboard, "--from-scratch")
    assert replayed["document"] == fresh["data"]
