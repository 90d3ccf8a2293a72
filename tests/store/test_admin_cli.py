"""The operator commands end to end, in process, against the test database.

``main`` runs its own event loop, so each call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from server.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, main
from server.core.ids import DashboardId, UserId
from server.store.postgres import PostgresStore
from tests.store.conftest import Clock, document, retitle


@pytest.fixture
def cli_env(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_url)


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _history(store: PostgresStore, owner: UserId, n: int) -> DashboardId:
    d = (
        await store.create_dashboard(owner_id=owner, title="t0", document=document("t0"))
    ).dashboard_id
    ops = [retitle(f"t{i}", f"t{i + 1}", i + 1) for i in range(n)]
    await store.commit(d, base_version=1, epoch=0, ops=ops, document=document(f"t{n}"))
    return d


@pytest.mark.usefixtures("cli_env")
async def test_migrate_reports_a_current_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "migrate", "--json")
    report = json.loads(out)
    assert code == EXIT_OK
    assert report["applied"] == [] and report["already"] >= 1


@pytest.mark.usefixtures("cli_env")
async def test_partitions_status_ensure_drop(
    capsys: pytest.CaptureFixture[str], migrated_url: str, owner: UserId
) -> None:
    stray = await PostgresStore.open(migrated_url, min_size=1, max_size=1,
                                     clock=Clock.at(datetime(1975, 3, 5, tzinfo=UTC)))  # fmt: skip
    try:
        await stray.create_dashboard(owner_id=owner, title="s", document=document("s"))
    finally:
        await stray.close()
    code, out, _ = await run(capsys, "partitions", "status")
    assert code == EXIT_PROBLEM
    assert "1 row(s) in operations_default" in out
    code, out, _ = await run(capsys, "partitions", "ensure")
    assert (code, "created operations_p197503" in out) == (EXIT_OK, True)
    code, out, _ = await run(capsys, "partitions", "status", "--json")
    status = json.loads(out)
    assert (code, status["rows_in_default"]) == (EXIT_OK, 0)
    assert any(p["name"] == "operations_p197503" and p["rows"] == 1 for p in status["partitions"])
    code, out, _ = await run(capsys, "partitions", "drop", "--before", "1976-01", "--dry-run")
    assert code == EXIT_OK and "would drop operations_p197503" in out.splitlines()
    code, _, _ = await run(capsys, "partitions", "drop")
    assert code == EXIT_USAGE
    code, _, err = await run(capsys, "partitions", "drop", "--before", "1976-13")
    assert code == EXIT_USAGE and "YYYY-MM" in err


@pytest.mark.usefixtures("cli_env")
async def test_checkpoint_named_and_stale(
    capsys: pytest.CaptureFixture[str], pg_store: PostgresStore, owner: UserId
) -> None:
    d = await _history(pg_store, owner, 3)  # head 4, newest checkpoint 1: stale
    code, out, _ = await run(capsys, "checkpoint", str(d), "--name", "launch", "--version", "3")
    assert code == EXIT_OK and "v3 'launch'" in out
    [named] = await pg_store.list_checkpoints(d, major_only=True)
    assert (named.version, named.label) == (3, "launch")
    code, out, _ = await run(capsys, "checkpoint", "--all-stale", "--json")
    made = json.loads(out)["checkpoints"]
    assert code == EXIT_OK
    assert {"dashboard_id": str(d), "version": 4, "is_major": False, "label": None} in made
    assert 4 in [c.version for c in await pg_store.list_checkpoints(d)]
    assert (await run(capsys, "checkpoint", str(uuid4())))[0] == EXIT_NOT_FOUND
    assert (await run(capsys, "checkpoint"))[0] == EXIT_USAGE
    with pytest.raises(SystemExit):
        await run(capsys, "checkpoint", "not-a-uuid")


@pytest.mark.usefixtures("cli_env")
async def test_replay(
    capsys: pytest.CaptureFixture[str], pg_store: PostgresStore, owner: UserId, tmp_path: Path
) -> None:
    d = await _history(pg_store, owner, 1100)
    code, out, err = await run(capsys, "replay", str(d), "--to-version", "6")
    assert code == EXIT_OK and json.loads(out)["title"] == "t5"
    code, out, err = await run(capsys, "replay", str(d), "--from-scratch", "--json")
    snap: dict[str, Any] = json.loads(out)
    assert (code, snap["version"], snap["document"]["title"]) == (EXIT_OK, 1101, "t1100")
    assert "100% 1101/1101 ops" in err  # the progress bar of a long replay
    target = tmp_path / "doc.json"
    code, out, _ = await run(capsys, "replay", str(d), "--out", str(target), "--at", "2999-01-01")
    assert code == EXIT_OK and json.loads(target.read_text())["title"] == "t1100"
    assert (await run(capsys, "replay", str(d), "--to-version", "5000"))[0] == EXIT_NOT_FOUND


@pytest.mark.usefixtures("cli_env")
async def test_verify_finds_tampering(
    capsys: pytest.CaptureFixture[str], pg_store: PostgresStore, owner: UserId
) -> None:
    good = await _history(pg_store, owner, 25)  # checkpoints at 1 and 26
    code, out, _ = await run(capsys, "verify", str(good))
    assert code == EXIT_OK and out.startswith(f"ok {good} head 26")
    bad_checkpoint = await _history(pg_store, owner, 25)
    await pg_store.pool.execute(
        "UPDATE checkpoints SET document = jsonb_set(document, '{title}', '\"forged\"')"
        " WHERE dashboard_id = $1 AND version = 26",
        bad_checkpoint,
    )
    code, out, _ = await run(capsys, "verify", str(bad_checkpoint))
    assert code == EXIT_PROBLEM and "checkpoint 26 differs" in out
    gap = await _history(pg_store, owner, 25)
    await pg_store.pool.execute(
        "DELETE FROM operations WHERE dashboard_id = $1 AND version = 7", gap
    )
    code, out, _ = await run(capsys, "verify", str(gap), "--json")
    [verdict] = json.loads(out)["dashboards"]
    assert code == EXIT_PROBLEM and not verdict["ok"]
    assert "versions missing from the log: 7" in {p["detail"] for p in verdict["problems"]}
    code, out, _ = await run(capsys, "verify", "--all")
    assert code == EXIT_PROBLEM
    assert f"ok {good}" in out and f"FAIL {bad_checkpoint}" in out and f"FAIL {gap}" in out
    assert (await run(capsys, "verify"))[0] == EXIT_USAGE
    assert (await run(capsys, "verify", str(uuid4())))[0] == EXIT_NOT_FOUND
