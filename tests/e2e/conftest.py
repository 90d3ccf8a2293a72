"""Fixtures for the end-to-end tests: real gateway processes on loopback ports, sharing the test
run's PostgreSQL database and Redis (under a key prefix of their own), and accounts created with
the ``tandem`` command line.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway, run_cli, start_gateways
from tests.e2e.oplog import sql

ROLES = ("editor", "viewer")


@dataclass(frozen=True)
class Account:
    user_id: str
    token: str


@pytest.fixture(scope="session")
def node_bin() -> str:
    path = shutil.which(os.environ.get("NODE", "node"))
    if path is None:
        pytest.skip("Node.js is not installed")
    return path


@pytest.fixture(scope="session")
def e2e_env(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of every gateway and CLI process these tests start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TANDEM_REDIS_PREFIX=f"{redis_prefix}e2e:",
        TANDEM_HOME=str(tmp_path_factory.mktemp("tandem-home")),
        TANDEM_LOG_FORMAT="json",
        # A dead sequencer's lock must expire quickly for the crash test to stay short.
        TANDEM_LOCK_TTL_MS="1500",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def gateway_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-logs")


@pytest.fixture(scope="session")
def gateways(e2e_env: dict[str, str], gateway_logs: Path) -> Iterator[list[Gateway]]:
    """Two gateways shared by the tests that do not kill one."""
    started = start_gateways(2, e2e_env, gateway_logs, "shared")
    try:
        yield started
    finally:
        for gateway in started:
            gateway.stop()


GatewayPair = Callable[[Mapping[str, str]], Iterator[list[Gateway]]]


@pytest.fixture
def gateway_pair(e2e_env: dict[str, str], gateway_logs: Path) -> GatewayPair:
    """Two gateways of the calling test's own, with more environment (a generator: the
    gateways stop when it is closed)."""

    def pair(extra: Mapping[str, str]) -> Iterator[list[Gateway]]:
        started = start_gateways(
            2, {**e2e_env, **extra}, gateway_logs, f"spare-{uuid.uuid4().hex[:6]}"
        )
        try:
            yield started
        finally:
            for gateway in started:
                gateway.stop()

    return pair


@pytest.fixture
def spare_gateways(gateway_pair: GatewayPair) -> Iterator[list[Gateway]]:
    """Two gateways of this test's own, so it may kill them."""
    yield from gateway_pair({})


def _create_account(env: dict[str, str], name: str) -> Account:
    tag = uuid.uuid4().hex[:8]
    user = run_cli(
        env, "user", "create", "--email", f"{name}-{tag}@e2e.test", "--username", f"{name}-{tag}"
    )
    user_id = str(user["id"])
    issued = run_cli(env, "token", "issue", "--user", user_id)
    return Account(user_id=user_id, token=str(issued["token"]))


@pytest.fixture(scope="session")
def accounts(e2e_env: dict[str, str], gateways: list[Gateway]) -> dict[str, Account]:
    """owner, editor, viewer and stranger (no role on any test dashboard)."""
    del gateways  # started first: the first gateway has migrated the database
    return {
        name: _create_account(e2e_env, name) for name in ("owner", "editor", "viewer", "stranger")
    }


@pytest.fixture
def new_dashboard(
    e2e_env: dict[str, str], database_url: str, accounts: dict[str, Account]
) -> Callable[[], str]:
    """Create a dashboard owned by ``owner`` with ``editor`` and ``viewer`` in those roles."""

    def create() -> str:
        owner = accounts["owner"].user_id
        made = run_cli(e2e_env, "dashboard", "create", "--owner", owner, "--title", "e2e")
        dashboard = str(made["id"])
        # Collaborators go straight into the table: no command adds them.
        for role in ROLES:
            sql(
                database_url,
                "INSERT INTO dashboard_collaborators (dashboard_id, user_id, role, added_by)"
                " VALUES ($1, $2, $3, $4)",
                uuid.UUID(dashboard),
                uuid.UUID(accounts[role].user_id),
                role,
                uuid.UUID(owner),
            )
        return dashboard

    return create
