"""An op whose ack is lost with the connection is resubmitted by the stock client with the same
src/seq after it reconnects; the server recognises it, so it is applied and logged once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_scenario
from tests.e2e.oplog import assert_sound_log

pytestmark = pytest.mark.node


def _adds_widget(op: object, widget_id: str) -> bool:
    return isinstance(op, list) and any(
        c.get("p") == ["widgets", widget_id] and "oi" in c for c in op
    )


@pytest.mark.parametrize("mode", ["lost_ack", "abrupt"])
def test_op_in_flight_at_disconnect_is_applied_once(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    database_url: str,
    mode: str,
) -> None:
    dashboard = new_dashboard()
    marker = f"in-flight-{mode}"
    result = run_scenario(
        node_dir,
        "e2e_resubmit.js",
        {
            "url": gateways[0].url,
            "token": accounts["editor"].token,
            "watcher_token": accounts["owner"].token,
            "dashboard": dashboard,
            "marker": marker,
            "mode": mode,
        },
        timeout=45,
        gateways=gateways,
    )
    if mode == "lost_ack":
        # The op committed before the client came back: its resubmit was a duplicate.
        assert result["committed_before_reconnect"] is True
    assert result["ack_error"] is None
    assert result["after_ack_error"] is None
    assert result["a"]["connects"] == 2
    assert result["a"]["errors"] == [] and result["w"]["errors"] == []

    fresh = result["fresh"]
    assert fresh["data"]["layout"].count(marker) == 1
    assert marker in fresh["data"]["widgets"]
    assert fresh["data"]["description"] == f"after {marker}"
    assert result["a"]["data"] == fresh["data"] == result["w"]["data"]
    assert result["a"]["v"] == result["w"]["v"] == fresh["v"]

    log = assert_sound_log(database_url, dashboard, fresh["v"])
    adding = [op for op in log if _adds_widget(op.op, marker)]
    assert len(adding) == 1
    assert (adding[0].src, adding[0].seq) == (result["a"]["src"], result["a"]["seq"])
