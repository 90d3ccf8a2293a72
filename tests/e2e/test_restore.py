"""Stock ShareDB clients edit while one user restores a version over HTTP: every client
converges on the restored document plus the edits made after it, and the log still verifies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_cli, run_scenario

pytestmark = pytest.mark.node

CLIENTS = 3
OPS = 40


def test_clients_editing_through_a_restore_converge_on_it(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
) -> None:
    dashboard = new_dashboard()
    result = run_scenario(
        node_dir,
        "e2e_restore.js",
        {"urls": [g.url for g in gateways], "api": gateways[0].http, "token": accounts["owner"].token, "dashboard": dashboard,
         "clients": CLIENTS, "ops": OPS, "seed": 4},
        timeout=100,
        gateways=gateways,
    )  # fmt: skip
    fresh, base = result["fresh"], result["base"]
    assert result["rejected"] == []
    assert result["restored"]["restored_from"] == base["v"]
    for client in result["clients"]:
        assert client["errors"] == [], client["name"]
        assert (client["v"], client["data"]) == (fresh["v"], fresh["data"]), client["name"]
    data = fresh["data"]
    # The restore undid what came between the base and it ...
    assert "doomed" not in data["widgets"] and data["layout"] == base["data"]["layout"]
    assert data["widgets"]["keep"]["title"] == "keep"
    # ... and every nudge, before or after it, is there: nudges made before the restore were
    # reverted by it only as far as the base held them, so count from the base.
    moved = data["widgets"]["moving"]["position"]
    start = base["data"]["widgets"]["moving"]["position"]
    after_restore = moved["x"] + moved["y"] - start["x"] - start["y"]
    assert 0 <= after_restore <= CLIENTS * OPS
    assert run_cli(e2e_env, "verify", dashboard)["ok"] is True
    replayed = run_cli(e2e_env, "replay", dashboard, "--from-scratch")
    assert (replayed["version"], replayed["document"]) == (fresh["v"], fresh["data"])
