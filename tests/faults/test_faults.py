"""Stock ShareDB clients that reconnect keep editing one dashboard each while the harness breaks
the deployment of :mod:`tests.faults.stack` one way at a time. After each fault every op was
acknowledged exactly once and none rejected, every client converged on the document, the log
holds each acknowledged op once with gapless versions, and ``tandem verify`` passes; at the end
``tandem verify --all`` passes over everything the suite wrote."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.core.ids import DashboardId
from server.redis.keys import Keys
from tests.e2e.harness import editing_scenario, run_cli
from tests.e2e.lockholder import freeze_holder
from tests.e2e.oplog import assert_acked_once
from tests.faults.stack import LOCK_TTL_MS, Stack, counter, wait_ready

pytestmark = [pytest.mark.node, pytest.mark.slow]

CLIENTS = 4
INTERVAL_MS = 25
OUTAGE = 3.0  # seconds a service stays away in the outage scenarios


def edit_through(
    stack: Stack, node_dir: Path, fault: Callable[[str], None], *, ops: int, seed: int
) -> None:
    """Clients edit a new dashboard; ``fault(dashboard)`` runs once they are under way; then
    everything is checked."""
    dashboard = stack.dashboard()
    scenario = editing_scenario(
        node_dir,
        [g.url for g in stack.fronts],
        [stack.token],
        dashboard,
        clients=CLIENTS,
        ops=ops,
        interval_ms=INTERVAL_MS,
        seed=seed,
    )
    try:
        assert scenario.next_event(timeout=60)["event"] == "ready"
        time.sleep(0.5)
        fault(dashboard)
        result = scenario.result(timeout=150, gateways=stack.processes)
    finally:
        scenario.close()
    assert_acked_once(result, stack.postgres.url, dashboard, CLIENTS * ops)
    assert run_cli(stack.cli_env, "verify", dashboard)["ok"] is True


def _keys(dashboard: str) -> tuple[str, str]:
    keys = Keys(prefix="faults:")
    d = DashboardId(uuid.UUID(dashboard))
    return keys.lock(d), keys.queue(d)


def test_kill_a_front_gateway(stack: Stack, node_dir: Path) -> None:
    victim = stack.fronts[0]

    def fault(dashboard: str) -> None:
        victim.kill()
        time.sleep(1.0)
        stack.restart(victim)

    edit_through(stack, node_dir, fault, ops=200, seed=1)


def test_kill_the_sequencer_holding_the_lock(stack: Stack, node_dir: Path) -> None:
    def fault(dashboard: str) -> None:
        lock, queue = _keys(dashboard)
        victim = freeze_holder(stack.redis.url, lock, queue, stack.sequencers)
        victim.kill()
        time.sleep(LOCK_TTL_MS / 1000)
        stack.restart(victim)

    edit_through(stack, node_dir, fault, ops=200, seed=2)


def test_freeze_a_sequencer_past_its_lock_ttl(stack: Stack, node_dir: Path) -> None:
    frozen: list[Any] = []

    def fault(dashboard: str) -> None:
        lock, queue = _keys(dashboard)
        victim = freeze_holder(stack.redis.url, lock, queue, stack.sequencers)
        frozen.append(victim)
        frozen.append(
            counter(stack.sequencers[0] if victim is stack.sequencers[1] else stack.sequencers[1],
                    "tandem_lock_acquisitions_total")
        )  # fmt: skip
        time.sleep(LOCK_TTL_MS / 1000 * 2)  # its lock expires; the other takes over
        os.killpg(victim.pid, signal.SIGCONT)

    edit_through(stack, node_dir, fault, ops=200, seed=3)
    victim = frozen[0]
    # Woken, it found out it had lost the dashboard: PostgreSQL refused its late batch (the
    # fence), or Redis its lock token, before it could answer anything.
    lost = counter(victim, "tandem_fence_refusals_total") + counter(
        victim, "tandem_lock_handovers_total", reason="lost"
    )
    assert lost >= 1


def test_restart_redis_losing_everything(stack: Stack, node_dir: Path) -> None:
    def fault(dashboard: str) -> None:
        stack.redis.kill()
        time.sleep(0.5)
        stack.redis.start()  # no persistence: it comes back empty

    edit_through(stack, node_dir, fault, ops=200, seed=4)


def test_restart_postgresql(stack: Stack, node_dir: Path) -> None:
    edit_through(stack, node_dir, lambda _: stack.postgres.restart(), ops=200, seed=5)


@pytest.mark.parametrize("service", ["postgresql", "redis"])
def test_cut_the_connections_to(service: str, stack: Stack, node_dir: Path) -> None:
    proxy = stack.pg_proxy if service == "postgresql" else stack.redis_proxy

    def fault(dashboard: str) -> None:
        proxy.cut()
        time.sleep(OUTAGE)
        proxy.restore()

    edit_through(stack, node_dir, fault, ops=240, seed=6 if service == "postgresql" else 7)


def test_restart_every_process_one_by_one(stack: Stack, node_dir: Path) -> None:
    def fault(dashboard: str) -> None:
        for gateway in stack.processes:
            assert gateway.process is not None
            gateway.process.terminate()  # SIGTERM: drain, hand over, exit
            gateway.process.wait(timeout=30)
            gateway.start(stack.env_of(gateway))
            wait_ready(gateway)

    edit_through(stack, node_dir, fault, ops=700, seed=8)


def test_everything_written_verifies(stack: Stack) -> None:
    verified = run_cli(stack.cli_env, "verify", "--all", timeout=120)
    assert verified["ok"] is True
