"""The deployment the fault suite breaks: its own PostgreSQL and Redis, each behind a TCP proxy,
two front gateways that take the clients and two sequencer processes, all ``tandem serve``."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Gateway, free_port, run_cli
from tests.faults.proxy import Proxy
from tests.faults.services import Postgres, Redis

LOCK_TTL_MS = 1500
READY_TIMEOUT = 45.0


@dataclass
class Stack:
    postgres: Postgres
    redis: Redis
    pg_proxy: Proxy
    redis_proxy: Proxy
    fronts: list[Gateway]
    sequencers: list[Gateway]
    env: dict[str, str]
    cli_env: dict[str, str]  # straight to PostgreSQL, past the proxy the faults cut
    token: str
    owner: str

    @property
    def processes(self) -> list[Gateway]:
        return [*self.sequencers, *self.fronts]

    def env_of(self, gateway: Gateway) -> dict[str, str]:
        role = "1" if gateway in self.sequencers else "0"
        return {**self.env, "TANDEM_SEQUENCER": role}

    def restart(self, gateway: Gateway) -> None:
        """Start a process that was stopped or killed again, on its port, and wait until ready."""
        gateway.stop()
        gateway.start(self.env_of(gateway))
        wait_ready(gateway)

    def dashboard(self) -> str:
        made = run_cli(self.cli_env, "dashboard", "create", "--owner", self.owner, "--title", "f")
        return str(made["id"])


def wait_ready(gateway: Gateway, timeout: float = READY_TIMEOUT) -> None:
    gateway.wait_healthy(timeout, path="/readyz")


def counter(gateway: Gateway, name: str, **labels: str) -> float:
    """One sample of a process's /metrics (0 when absent)."""
    with urllib.request.urlopen(f"{gateway.http}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


@contextlib.contextmanager
def running_stack(root: Path, base_env: dict[str, str]) -> Iterator[Stack]:
    postgres = Postgres(root / "pg", free_port())
    redis = Redis(root / "redis", free_port())
    postgres.init()
    postgres.start()
    redis.start()
    pg_proxy = Proxy(postgres.port)
    redis_proxy = Proxy(redis.port)
    pg_proxy.start()
    redis_proxy.start()
    env = {
        **base_env,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_proxy.port}/postgres",
        "REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        "TANDEM_HOME": str(root / "home"),
        "TANDEM_REDIS_PREFIX": "faults:",
        "TANDEM_LOCK_TTL_MS": str(LOCK_TTL_MS),
        "TANDEM_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    cli_env = {**env, "DATABASE_URL": postgres.url}
    logs = root / "logs"
    logs.mkdir()
    tag = uuid.uuid4().hex[:4]
    sequencers = [Gateway(free_port(), logs / f"seq-{i}.log", f"seq{i}-{tag}") for i in range(2)]
    fronts = [Gateway(free_port(), logs / f"front-{i}.log", f"front{i}-{tag}") for i in range(2)]
    stack = Stack(postgres, redis, pg_proxy, redis_proxy, fronts, sequencers, env, cli_env, "", "")
    try:
        for gateway in stack.processes:  # the first migrates the database
            gateway.start(stack.env_of(gateway))
            wait_ready(gateway)
        user = run_cli(cli_env, "user", "create", "--email", "f@faults.test", "--username", "f")
        stack.owner = str(user["id"])
        stack.token = str(run_cli(cli_env, "token", "issue", "--user", stack.owner)["token"])
        yield stack
    finally:
        for gateway in stack.processes:
            gateway.stop()
        pg_proxy.stop()
        redis_proxy.stop()
        redis.stop()
        postgres.stop()
