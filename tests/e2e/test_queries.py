"""Live dashboard lists with the stock ShareDB client: a subscribed query's results follow
shares, socket creates, archives and revocations within a second; create and del by role."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_cli, run_scenario
from tests.e2e.oplog import sql

pytestmark = pytest.mark.node


def _account(env: dict[str, str], name: str) -> Account:
    tag = uuid.uuid4().hex[:8]
    user = run_cli(
        env, "user", "create", "--email", f"{name}-{tag}@e2e.test", "--username", f"{name}-{tag}"
    )
    token = run_cli(env, "token", "issue", "--user", str(user["id"]))["token"]
    return Account(user_id=str(user["id"]), token=str(token))


def _step(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in result["steps"] if s["name"] == name)


def test_subscribed_query_follows_access_live(
    node_dir: Path,
    node_bin: str,
    gateways: list[Gateway],
    e2e_env: dict[str, str],
    accounts: dict[str, Account],
    database_url: str,
) -> None:
    owner, viewer = _account(e2e_env, "lister-a"), _account(e2e_env, "lister-b")
    existing = str(
        run_cli(e2e_env, "dashboard", "create", "--owner", owner.user_id, "--title", "Shared")["id"]
    )
    result = run_scenario(
        node_dir,
        "e2e_queries.js",
        {
            "a_url": gateways[0].url,
            "b_url": gateways[1].url,
            "http": gateways[0].http,
            "a_token": owner.token,
            "b_token": viewer.token,
            "b_user": viewer.user_id,
            "stranger_token": accounts["stranger"].token,
            "existing": existing,
        },
        timeout=120,
        gateways=gateways,
    )
    mine, own = result["mine"], result["own"]
    assert result["errors"] == []
    assert result["steps"][0]["ids"] == [] == result["steps"][0]["fresh"]
    # Every change reached the live results within a second, and after each the live list is
    # exactly what a fresh query answers (same ids, same order): the diffs were right.
    expected = {
        "a_creates": {mine, existing},  # A's own list
        "a_shares_created": {mine},
        "a_shares_existing": {mine, existing},
        "b_creates": {mine, existing, own},
        "a_archives": {mine, own},
        "a_revokes": {own},
        "a_unarchives": {own, existing},
        "b_deletes": {existing},
    }
    for name, ids in expected.items():
        step = _step(result, name)
        assert step["ms"] < 1000, step
        assert set(step["ids"]) == ids, step
        assert step["ids"] == step["fresh"], step
    # The diffs are ShareDB's: inserts carry snapshots, removals an index and a count.
    kinds = [item["type"] for diff in result["diffs"] for item in diff["diff"]]
    assert kinds.count("insert") == 4 and kinds.count("remove") == 3, result["diffs"]
    inserted = [
        value for diff in result["diffs"] for item in diff["diff"] if item["type"] == "insert"
        for value in item["values"]
    ]  # fmt: skip
    assert {v["d"] for v in inserted} == {mine, existing, own}
    assert all(v["v"] >= 1 and v["type"].endswith("JSONv0") for v in inserted)
    assert {v["d"]: v["data"]["title"] for v in inserted}[own] == "B made this"
    events = [e["event"] for e in result["events"]]
    assert events.count("insert") == 4 and events.count("remove") == 3
    assert events.count("changed") == len(result["diffs"])

    # Create and del by role.
    refused = result["refused"]
    assert refused["guest_create"]["code"] == "forbidden"
    assert refused["viewer_create_existing"]["code"] == "forbidden"
    assert refused["admin_create_existing"]["code"] == "already_created"
    assert refused["stranger_create_existing"]["code"] == "already_created"
    assert refused["invalid_document"]["code"] == "invalid_document"
    assert refused["editor_del"]["code"] == "forbidden"
    assert refused["viewer_del"]["code"] == "forbidden"
    assert refused["guest_list"] == []
    assert refused["guest_created_nothing"]["code"] == "not_found"
    # The socket's create made the caller the owner, through the sequencer (version 0 in the
    # log); del archived the dashboard and took it off the client.
    rows = sql(
        database_url,
        "SELECT id::text, owner_id::text, is_archived, head_version FROM dashboards"
        " WHERE id = ANY($1::uuid[])",
        [uuid.UUID(mine), uuid.UUID(own), uuid.UUID(existing)],
    )
    by_id = {r[0]: tuple(r)[1:] for r in rows}
    assert by_id[mine] == (owner.user_id, False, 1)
    assert own not in by_id  # deleted at the end
    assert by_id[existing] == (owner.user_id, False, 1)  # archived, then restored
    assert result["archived_type"] is None
    audit = sql(
        database_url,
        "SELECT action, user_id::text, dashboard_id::text FROM audit_logs"
        " WHERE dashboard_id = ANY($1::uuid[])",
        [uuid.UUID(existing), uuid.UUID(own)],
    )
    audited = {tuple(r) for r in audit}
    assert ("dashboard.archived", owner.user_id, existing) in audited
    assert ("dashboard.created", viewer.user_id, own) in audited
    assert ("dashboard.deleted", viewer.user_id, own) in audited
    # After qu, nothing more: the re-share is not sent to the destroyed query.
    assert result["after_destroy"]["diffs"] == 0
    assert mine in result["after_destroy"]["fresh"]
