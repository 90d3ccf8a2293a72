"""Concurrent json0, text-unicode and rich-text edits from stock ShareDB clients converge: every
client, a fresh fetch and a replay of the stored log hold the same document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_cli, run_scenario, start_gateways
from tests.e2e.oplog import assert_sound_log

pytestmark = pytest.mark.node

CLIENTS = 4
OPS_PER_CLIENT = 60


def _converge(
    node_dir: Path, gateways: list[Gateway], accounts: dict[str, Account], dashboard: str, seed: int
) -> dict[str, Any]:
    return run_scenario(
        node_dir,
        "e2e_converge.js",
        {
            "urls": [g.url for g in gateways],
            "tokens": [accounts["owner"].token, accounts["editor"].token],
            "dashboard": dashboard,
            "clients": CLIENTS,
            "ops": OPS_PER_CLIENT,
            "seed": seed,
        },
        timeout=100,
        gateways=gateways,
    )


def _assert_converged(
    result: dict[str, Any], env: dict[str, str], database_url: str, dashboard: str
) -> None:
    fresh = result["fresh"]
    assert result["rejected"] == []
    assert result["acked"] == result["submitted"] == CLIENTS * OPS_PER_CLIENT
    for client in result["clients"]:
        assert client["errors"] == [], client["name"]
        assert client["v"] == fresh["v"], client["name"]
        assert client["data"] == fresh["data"], client["name"]

    # Every kind of edit made it through.
    data = fresh["data"]
    assert data["widgets"]["notes"]["title"] != ""
    assert any("attributes" in part for part in data["widgets"]["story"]["body"]["ops"])
    assert sorted(data["layout"]) == sorted(data["widgets"])
    assert len(data["layout"]) > 3

    # The log is gapless up to the head and holds each (src, seq) once.
    assert_sound_log(database_url, dashboard, fresh["v"])
    verified = run_cli(env, "verify", dashboard)
    assert verified["ok"] is True

    # Replaying the whole log from the creation, ignoring checkpoints, gives the same document.
    replayed = run_cli(env, "replay", dashboard, "--from-scratch")
    assert replayed["version"] == fresh["v"]
    assert replayed["document"] == fresh["data"]


def test_clients_on_one_gateway_converge(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
    database_url: str,
) -> None:
    dashboard = new_dashboard()
    result = _converge(node_dir, gateways[:1], accounts, dashboard, seed=1)
    assert {c["url"] for c in result["clients"]} == {gateways[0].url}
    _assert_converged(result, e2e_env, database_url, dashboard)


def test_clients_spread_over_two_gateways_converge(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
    database_url: str,
) -> None:
    dashboard = new_dashboard()
    result = _converge(node_dir, gateways, accounts, dashboard, seed=2)
    assert {c["url"] for c in result["clients"]} == {g.url for g in gateways}
    _assert_converged(result, e2e_env, database_url, dashboard)


def test_clients_of_a_front_gateway_converge_through_a_sequencer_process(
    node_dir: Path,
    node_bin: str,
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
    database_url: str,
    gateway_logs: Path,
) -> None:
    # Their own Redis prefix: no other test's gateway may sequence for them.
    prefix = {"TANDEM_REDIS_PREFIX": e2e_env["TANDEM_REDIS_PREFIX"] + "split:"}
    front, sequencer = start_gateways(
        2, e2e_env, gateway_logs, "split", [{**prefix, "TANDEM_SEQUENCER": "0"}, prefix]
    )
    try:
        dashboard = new_dashboard()
        result = _converge(node_dir, [front], accounts, dashboard, seed=3)
        _assert_converged(result, e2e_env, database_url, dashboard)
        # Every batch was committed by the sequencer process, none by the front gateway.
        assert "op.batch_committed" in sequencer.log_path.read_text()
        assert "op.batch_committed" not in front.log_path.read_text()
    finally:
        front.stop()
        sequencer.stop()
