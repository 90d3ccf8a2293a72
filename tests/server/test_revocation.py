"""Revocation reaches open sockets: sessions, users and roles changed by Tandem (announced) or
directly in PostgreSQL (the sweep) close or downgrade open connections within a second, and
the client is told why before the close."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest

from server.access.changes import AccessChange, announce
from server.core.ids import DashboardId
from server.gateway.auth import issue_token, token_hash
from server.redis.keys import Keys
from tests.server.conftest import Serve
from tests.server.gateway_harness import Client, Gateway, open_client, title_op
from tests.server.test_auth_cli import TANDEM, environment, tandem

WITHIN = 1.0  # seconds: what the design promises for every kind of change


@pytest.fixture(scope="module")
async def gateway(served: Serve) -> AsyncIterator[Gateway]:
    async with served() as gw:
        yield gw


async def subscribed(gateway: Gateway, token: str, doc: str) -> Client:
    client = await open_client(gateway.url, token)
    reply = await client.request({"a": "s", "c": "dashboards", "d": doc})
    assert "error" not in reply, reply
    return client


async def closed_in_time(client: Client, started: float) -> tuple[int | None, str, float]:
    code, reason = await client.closed(within=5)
    return code, reason, time.monotonic() - started


def last_error(client: Client) -> str:
    errors = [m["error"]["code"] for m in client.backlog if "error" in m]
    assert errors, client.backlog
    return str(errors[-1])


def test_access_changes_round_trip() -> None:
    board = DashboardId(UUID(int=7))
    for change in (
        AccessChange("session", "a"),
        AccessChange("role", str(UUID(int=1)), board),
        AccessChange("dashboard", str(board)),
    ):
        assert AccessChange.decode(change.encode()) == change
    assert AccessChange("dashboard", str(board)).target == board
    for junk in (b"", b"[]", b'{"kind":"nope","id":"x"}', b'{"kind":"role","id":1}'):
        assert AccessChange.decode(junk) is None


async def test_announced_session_revocation_closes_the_open_socket(gateway: Gateway) -> None:
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    client = await subscribed(gateway, key, doc)
    started = time.monotonic()
    session = await gateway.services.accounts.revoke_session(token_hash(key))
    assert session is not None
    keys = Keys(gateway.services.settings.redis_prefix)
    await announce(gateway.services.redis, keys, AccessChange("session", str(session)))
    code, _, took = await closed_in_time(client, started)
    assert code == 4001 and took < WITHIN
    assert last_error(client) == "session_revoked"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1",
        "UPDATE sessions SET expires_at = now() WHERE user_id = $1",
        "UPDATE users SET is_active = false WHERE id = $1",
        "DELETE FROM users WHERE id = $1",
    ],
    ids=["revoked", "expired", "deactivated", "deleted"],
)
async def test_changes_made_in_postgres_close_within_a_second(gateway: Gateway, sql: str) -> None:
    owner, _ = await gateway.user()
    editor, key = await gateway.user()
    doc = await gateway.dashboard(owner, editor=editor)
    client = await subscribed(gateway, key, doc)
    started = time.monotonic()
    await gateway.services.store.pool.execute(sql, editor)  # behind Tandem's back
    code, _, took = await closed_in_time(client, started)
    assert code == 4001 and took < WITHIN
    assert last_error(client) == "session_revoked"


async def test_editor_made_viewer_keeps_reading_but_cannot_submit(gateway: Gateway) -> None:
    owner, owner_key = await gateway.user()
    editor, key = await gateway.user()
    doc = await gateway.dashboard(owner, editor=editor)
    client = await subscribed(gateway, key, doc)
    version, document = await gateway.document(doc)
    assert "error" not in await client.op(doc, version, title_op(document["title"], "Mine"))
    await gateway.services.store.pool.execute(
        "UPDATE dashboard_collaborators SET role = 'viewer' WHERE user_id = $1", editor
    )
    notice = await client.expect(lambda m: m.get("error", {}).get("code") == "role_changed", 2)
    assert notice["role"] == "viewer" and notice["d"] == doc
    refused = await client.request(
        {"a": "op", "c": "dashboards", "d": doc, "v": version + 1, "seq": 99,
         "op": title_op("Mine", "Still mine")}
    )  # fmt: skip
    assert refused["error"]["code"] == "forbidden"
    owner_client = await subscribed(gateway, owner_key, doc)
    assert "error" not in await owner_client.op(doc, version + 1, title_op("Mine", "Theirs"))
    broadcast = await client.expect(lambda m: m.get("a") == "op" and "op" in m)
    assert broadcast["op"] == title_op("Mine", "Theirs")
    await owner_client.close()
    await client.close()


async def test_announced_role_removal_closes_with_access_revoked(gateway: Gateway) -> None:
    owner, _ = await gateway.user()
    viewer, key = await gateway.user()
    doc = await gateway.dashboard(owner, viewer=viewer)
    client = await subscribed(gateway, key, doc)
    started = time.monotonic()
    board = DashboardId(UUID(doc))
    assert await gateway.services.access.remove_collaborator(board, viewer)
    keys = Keys(gateway.services.settings.redis_prefix)
    await announce(gateway.services.redis, keys, AccessChange("role", str(viewer), board))
    code, _, took = await closed_in_time(client, started)
    assert code == 4003 and took < WITHIN
    assert last_error(client) == "access_revoked"


async def test_cli_token_revoke_and_user_deactivate_close_open_sockets(
    gateway: Gateway, database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = environment(database_url, redis_url, redis_prefix, tmp_path)
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    client = await subscribed(gateway, key, doc)
    second = await subscribed(gateway, await issue_token(gateway.services.accounts, owner), doc)
    code, out = await asyncio.to_thread(tandem, env, "token", "revoke", f"--token={key}")
    assert code == 0 and out == {"revoked": 1}
    assert (await client.closed(within=5))[0] == 4001
    assert last_error(client) == "session_revoked"
    assert await second.request({"a": "pp"}) == {"a": "pp"}  # another session of the user
    code, out = await asyncio.to_thread(tandem, env, "user", "deactivate", "--user", str(owner))
    assert code == 0 and out["deactivated"] is True
    assert (await second.closed(within=5))[0] == 4001
    code, _ = await asyncio.to_thread(tandem, env, "token", "revoke", f"--token={key}")
    assert code == 4  # no live session has it any more


async def test_cli_refuses_a_negative_token_lifetime(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = environment(database_url, redis_url, redis_prefix, tmp_path)
    for days in ("-1", "0", "99999", "x"):
        result = await asyncio.to_thread(
            subprocess.run,
            [TANDEM, "token", "issue", "--user", str(UUID(int=1)), "--days", days],
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and "--days" in result.stderr
