"""The account commands and ``tandem serve --demo``, run as the real ``tandem`` executable."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import httpx
import pytest

from server.embedded import ServiceUrls
from server.gateway.auth import token_hash
from tests.server.gateway_harness import open_client

TANDEM = str(Path(sys.executable).parent / "tandem")


def environment(database_url: str, redis_url: str, redis_prefix: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TANDEM_REDIS_PREFIX": redis_prefix,
        "TANDEM_HOME": str(home),
        "TANDEM_LOG_FORMAT": "json",
    }


def tandem(env: dict[str, str], *args: str) -> tuple[int, Any]:
    result = subprocess.run(
        [TANDEM, *args, "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def env(database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path) -> dict[str, str]:
    return environment(database_url, redis_url, redis_prefix, tmp_path)


async def test_user_token_and_dashboard_commands(env: dict[str, str], database_url: str) -> None:
    code, user = await asyncio.to_thread(
        tandem, env, "user", "create", "--email", "cli@example.com", "--username", "cli",
        "--password", "pw",
    )  # fmt: skip
    assert code == 0 and user["username"] == "cli"
    code, issued = await asyncio.to_thread(tandem, env, "token", "issue", "--user", user["id"])
    assert code == 0
    code, dashboard = await asyncio.to_thread(
        tandem, env, "dashboard", "create", "--owner", user["id"], "--title", "From the CLI"
    )
    assert code == 0 and UUID(dashboard["id"])

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchrow(
            "SELECT password_hash FROM users WHERE id = $1", UUID(user["id"])
        )
        assert stored["password_hash"].startswith("$argon2id$")
        hashes = await conn.fetch(
            "SELECT token_hash FROM sessions WHERE user_id = $1", UUID(user["id"])
        )
        assert [bytes(r["token_hash"]) for r in hashes] == [token_hash(issued["token"])]
        owner = await conn.fetchval(
            "SELECT owner_id FROM dashboards WHERE id = $1", UUID(dashboard["id"])
        )
        assert str(owner) == user["id"]
        actions = {r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_logs WHERE user_id = $1", UUID(user["id"]))}  # fmt: skip
        assert {"user.created", "token.issued", "dashboard.created"} <= actions
        audit_text = str(await conn.fetch("SELECT details FROM audit_logs"))
        assert issued["token"] not in audit_text
    finally:
        await conn.close()

    code, again = await asyncio.to_thread(
        tandem, env, "user", "create", "--email", "CLI@example.com", "--username", "other"
    )
    assert code == 1 and again["error"]["code"] == "conflict"
    missing = "00000000-0000-0000-0000-000000000000"
    code, error = await asyncio.to_thread(tandem, env, "token", "issue", "--user", missing)
    assert code == 4 and error["error"]["code"] == "not_found"


async def test_dashboard_share_grants_a_role(env: dict[str, str], database_url: str) -> None:
    code, owner = await asyncio.to_thread(
        tandem, env, "user", "create", "--email", "own@example.com", "--username", "own"
    )
    assert code == 0
    code, guest = await asyncio.to_thread(
        tandem, env, "user", "create", "--email", "guest@example.com", "--username", "guest"
    )
    assert code == 0
    code, dashboard = await asyncio.to_thread(
        tandem, env, "dashboard", "create", "--owner", owner["id"], "--title", "Shared"
    )
    assert code == 0
    share = ("dashboard", "share", "--dashboard", dashboard["id"], "--user", guest["id"])
    code, granted = await asyncio.to_thread(tandem, env, *share, "--role", "viewer")
    assert code == 0 and granted["role"] == "viewer"
    code, _ = await asyncio.to_thread(tandem, env, *share, "--role", "editor")
    assert code == 0

    conn = await asyncpg.connect(database_url)
    try:
        roles = await conn.fetch(
            "SELECT role FROM dashboard_collaborators WHERE dashboard_id = $1 AND user_id = $2",
            UUID(dashboard["id"]),
            UUID(guest["id"]),
        )
    finally:
        await conn.close()
    assert [r["role"] for r in roles] == ["editor"]

    missing = "00000000-0000-0000-0000-000000000000"
    code, error = await asyncio.to_thread(
        tandem, env, "dashboard", "share", "--dashboard", missing, "--user", guest["id"],
        "--role", "viewer",
    )  # fmt: skip
    assert code == 4 and error["error"]["code"] == "not_found"


# -- serve --demo --------------------------------------------------------------------------


@pytest.fixture
def empty_database(services: ServiceUrls, run_id: str) -> Iterator[str]:
    name = f"tandem_demo_{run_id}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(services.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(services.database_url)._replace(path="/" + name))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def serve_demo(env: dict[str, str]) -> dict[str, Any]:
    """Run ``tandem serve --demo``, use the printed token on the printed dashboard, stop."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        TANDEM, "serve", "--demo", "--json", "--port", str(port),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        assert banner["url"] == f"ws://127.0.0.1:{port}/ws"
        async with httpx.AsyncClient() as http, asyncio.timeout(60):
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        demo = banner["demo"]
        client = await open_client(banner["url"], demo["token"])
        reply = await client.request({"a": "s", "c": "dashboards", "d": demo["dashboard"]})
        assert reply["data"]["data"]["title"] == "Demo dashboard"
        await client.close()
        return dict(demo)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def test_serve_demo_is_idempotent(
    empty_database: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = environment(empty_database, redis_url, redis_prefix, tmp_path)
    first = asyncio.run(serve_demo(env))
    second = asyncio.run(serve_demo(env))
    assert second["user"] == first["user"]
    assert second["dashboard"] == first["dashboard"]
    assert second["token"] != first["token"]  # a fresh token each time; only hashes are kept

    async def users() -> int:
        conn = await asyncpg.connect(empty_database)
        try:
            count: int = await conn.fetchval("SELECT count(*) FROM users")
            return count
        finally:
            await conn.close()

    assert asyncio.run(users()) == 1


async def test_serve_without_demo_data_on_a_used_database(env: dict[str, str]) -> None:
    # a database with real users: --demo leaves it alone
    code, _ = await asyncio.to_thread(
        tandem, env, "user", "create", "--email", "real@example.com", "--username", "real"
    )
    assert code == 0
    accounts_before = await _count_users(env["DATABASE_URL"])
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        TANDEM, "serve", "--demo", "--json", "--port", str(port),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        assert banner == {"url": f"ws://127.0.0.1:{port}/ws", "demo": None}
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    assert await _count_users(env["DATABASE_URL"]) == accounts_before


async def test_serve_logs_the_port_it_serves(env: dict[str, str]) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        TANDEM, "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        async with asyncio.timeout(60):
            while True:
                line = (await proc.stderr.readline()).decode()
                assert line, "serve ended before it started"
                if '"app.started"' in line:
                    break
        assert json.loads(line)["port"] == port
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def _count_users(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM users")
        return count
    finally:
        await conn.close()
