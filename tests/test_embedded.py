"""The embedded PostgreSQL stops with its last living holder, even after a holder was killed;
the embedded Redis answers only to its password."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from server.embedded import EmbeddedPostgres, EmbeddedRedis


@pytest.mark.slow
def test_a_killed_holder_does_not_keep_postgres_running(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    pg.start()
    # A holder that died without leaving (as a process killed by SIGKILL does).
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    handles = tmp_path / "pg" / ".handle_pids.json"
    handles.write_text(json.dumps([*json.loads(handles.read_text()), int(dead.stdout)]))
    assert (tmp_path / "pg" / "postmaster.pid").exists()

    pg.stop()

    assert not (tmp_path / "pg" / "postmaster.pid").exists()


def test_embedded_redis_needs_its_password(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    try:
        password = (tmp_path / "redis" / "password").read_text().strip()
        assert len(password) >= 32 and f":{password}@" in url
        for secret in ("password", "redis.conf"):
            assert stat.S_IMODE((tmp_path / "redis" / secret).stat().st_mode) == 0o600
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            assert s.recv(64).startswith(b"-NOAUTH")
        client = redis.Redis.from_url(url)
        try:
            assert client.ping()
        finally:
            client.close()
        assert server.start() == url  # a second user reuses it, with the same password
    finally:
        server.stop()
