"""Presence through the sharedb@7 presence API: it reaches the other clients, including one on
another gateway and one that joins later, and disappears when its connection is lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_scenario

pytestmark = pytest.mark.node


def test_presence_reaches_others_and_vanishes_on_disconnect(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
) -> None:
    dashboard = new_dashboard()
    result = run_scenario(
        node_dir,
        "e2e_presence.js",
        {
            # A and C on the first gateway, B on the second: presence crosses processes.
            "urls": [gateways[0].url, gateways[1].url, gateways[0].url],
            "tokens": [accounts["owner"].token, accounts["editor"].token, accounts["viewer"].token],
            "dashboard": dashboard,
        },
        timeout=45,
        gateways=gateways,
    )
    assert result["errors"] == []
    assert result["b_seen"] == result["value"]
    assert result["c_seen"] == result["value"]
    assert result["drop_error"] is None
    assert result["b_after_drop"] is None
    assert result["c_after_drop"] is None


def test_channel_presence_is_relayed_while_ops_flow(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
) -> None:
    # connection.getPresence (no doc type involved) rather than getDocPresence: stock json0
    # cannot transform presence, so only the channel API survives concurrent ops.
    result = run_scenario(
        node_dir,
        "e2e_presence_ops.js",
        {
            "urls": [gateways[0].url, gateways[1].url],
            "tokens": [accounts["owner"].token, accounts["editor"].token],
            "dashboard": new_dashboard(),
            "ops": 20,
        },
        timeout=45,
        gateways=gateways,
    )
    assert result["errors"] == []
    assert result["submitted"] == result["acked"] == 40
    assert result["b_seen"] == result["value"] is not None
    assert result["settings"]["a"] == result["settings"]["b"]
    assert result["settings"]["a"]["a"] == result["settings"]["a"]["b"] == 19
