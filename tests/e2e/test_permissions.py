"""Roles at the socket: a viewer reads but cannot write; a non-member and a bad token get nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_scenario
from tests.e2e.oplog import assert_sound_log

pytestmark = pytest.mark.node


def _refused(outsider: dict[str, Any], code: str) -> None:
    for request in ("subscribe_error", "fetch_error", "snapshot_error"):
        assert outsider[request] is not None, request
        assert outsider[request]["code"] == code, request
    assert outsider["data"] is None
    assert outsider["type"] is None


def test_viewer_cannot_write_and_outsiders_see_nothing(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    database_url: str,
) -> None:
    dashboard = new_dashboard()
    result = run_scenario(
        node_dir,
        "e2e_permissions.js",
        {
            "url": gateways[0].url,
            "dashboard": dashboard,
            "editor_token": accounts["editor"].token,
            "viewer_token": accounts["viewer"].token,
            "stranger_token": accounts["stranger"].token,
        },
        timeout=60,
        gateways=gateways,
    )
    before, after = result["before"], result["after"]

    viewer = result["viewer"]
    assert viewer["read"] == before
    assert viewer["submit_error"] is not None
    assert viewer["submit_error"]["code"] == "forbidden"
    # Rolled back on the client, never applied on the server.
    assert viewer["after_rollback"] == before
    assert after == before
    assert_sound_log(database_url, dashboard, before["v"])

    # A non-member cannot even learn that the dashboard exists.
    _refused(result["stranger"], "not_found")
    assert result["stranger"]["auth_reply"] == {"a": "auth", "user": accounts["stranger"].user_id}
    # A bad token never gets past the first message: the socket is closed.
    _refused(result["bad_token"], "socket_closed")
    assert result["bad_token"]["closed"]["code"] == 4001
    assert "user" not in (result["bad_token"]["auth_reply"] or {})
