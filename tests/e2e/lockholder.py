"""Finding which gateway process holds a dashboard's sequencer lock, from outside.

The lock's value is a random token, so it names no process. :class:`LockWatch` follows Redis
``MONITOR`` and remembers which client connection (loopback port) set each token; the process
owning that socket is found through ``/proc`` (Linux). :func:`freeze_holder` then stops that
process and checks the token is still in place, so the caller kills a process that provably holds
the lock at that moment, not one that just released it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import redis

from tests.e2e.harness import Gateway


class LockWatch:
    """Records ``token -> client port`` for every ``SET key token ...`` Redis executes."""

    def __init__(self, redis_url: str, key: str) -> None:
        self.key = key
        self.setters: dict[str, int] = {}
        self.error: BaseException | None = None
        self._stopped = threading.Event()
        self._client = redis.Redis.from_url(redis_url, decode_responses=True)
        self._watcher = redis.Redis.from_url(redis_url, decode_responses=True)
        self._monitor = self._watcher.monitor()  # type: ignore[no-untyped-call]
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                command = self._monitor.next_command()
                parts = str(command["command"]).split(" ")
                if (
                    len(parts) >= 3
                    and parts[0].upper() == "SET"
                    and parts[1] == self.key
                    and command["client_type"] == "tcp"
                ):
                    self.setters[parts[2]] = int(command["client_port"])
        except Exception as exc:  # the connection is closed under it at the end
            if not self._stopped.is_set():
                self.error = exc

    def token(self) -> str | None:
        value = self._client.get(self.key)
        return None if value is None else str(value)

    def length(self, queue_key: str) -> int:
        return int(self._client.llen(queue_key))

    def close(self) -> None:
        self._stopped.set()
        self._monitor.__exit__(None, None, None)
        self._thread.join(timeout=5)
        self._client.close()
        self._watcher.close()


def _group_pids(leader: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == leader:
            pids.append(int(entry.name))
    return pids


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def _inode_of_local_port(port: int) -> set[int]:
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                inodes.add(int(fields[9]))
    return inodes


def owner_of_port(port: int, gateways: Sequence[Gateway]) -> Gateway | None:
    """The gateway whose process group has a socket bound to local ``port``."""
    wanted = _inode_of_local_port(port)
    for gateway in gateways:
        if not gateway.alive():
            continue
        for pid in _group_pids(gateway.pid):
            if _socket_inodes(pid) & wanted:
                return gateway
    return None


def freeze_holder(
    watch: LockWatch, gateways: Sequence[Gateway], queue_key: str, timeout: float = 10.0
) -> Gateway:
    """Stop (SIGSTOP) the gateway holding the lock while records wait in ``queue_key`` (so it
    is at work on them) and return it, still holding the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watch.length(queue_key) == 0:
            time.sleep(0.002)
            continue
        token = watch.token()
        port = watch.setters.get(token) if token else None
        holder = owner_of_port(port, gateways) if port else None
        if holder is None:
            time.sleep(0.005)
            continue
        os.killpg(holder.pid, signal.SIGSTOP)
        # Stopped, it can neither release nor extend; nobody else can take a key that exists.
        if watch.token() == token:
            return holder
        os.killpg(holder.pid, signal.SIGCONT)
    raise AssertionError(f"no gateway found holding {watch.key} within {timeout}s: {watch.error}")
