"""The servers a load run talks to, started on loopback and torn down afterwards.

A :class:`Stack` owns, for one run: PostgreSQL and Redis (embedded under a root directory, or
the ones ``DATABASE_URL`` / ``REDIS_URL`` name), two fresh databases in that PostgreSQL (one for
Tandem, one for the ShareDB reference server), a Redis key prefix, the accounts the load clients
use, and the server processes. Everything it created goes when it closes: processes, databases
and the Redis keys under its prefix.

Tandem gateways are the end-to-end harness's ``tandem serve`` processes; the reference server
is ``tests/node/reference_server.js``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis

from ot.dashboard.document import new_document
from server.core.ids import DashboardId, UserId
from server.embedded import EmbeddedServices, ServiceUrls
from server.gateway.auth import issue_token
from server.store.access import Access
from server.store.accounts import Accounts
from server.store.migrate import migrate
from server.store.partitions import ensure_partitions
from server.store.pool import connection
from server.store.postgres import PostgresStore
from tests.e2e.harness import Gateway, free_port, start_gateways

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "node"
REFERENCE_START_TIMEOUT = 60.0
DASHBOARD_TITLE = "Load"

# A throughput benchmark measures the sequencer and the gateway, not the abuse limits: with the
# defaults a closed loop of 20 clients from one user would be throttled by design.
UNLIMITED = {
    "TANDEM_OPS_PER_SECOND_PER_CONNECTION": "1000000",
    "TANDEM_OPS_PER_SECOND_PER_USER": "1000000",
    "TANDEM_CONNECTIONS_PER_USER": "100000",
    "TANDEM_MAX_UNAUTHENTICATED_PER_IP": "100000",
}


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Account:
    user_id: str
    token: str


async def _create_accounts(database_url: str, count: int, tag: str) -> list[Account]:
    store = await PostgresStore.open(database_url, min_size=1, max_size=4)
    try:
        accounts = Accounts(store.pool)
        made: list[Account] = []
        for i in range(count):
            user_id = await accounts.create_user(
                f"load-{tag}-{i}@load.invalid", f"load-{tag}-{i}", display_name=f"Load {i}"
            )
            made.append(Account(str(user_id), await issue_token(accounts, user_id)))
        return made
    finally:
        await store.close()


async def _create_dashboards(
    database_url: str, owner: Account, editors: list[list[Account]]
) -> list[str]:
    """One dashboard per entry of ``editors``, each editable by the accounts listed there."""
    store = await PostgresStore.open(database_url, min_size=1, max_size=4)
    try:
        access = Access(store.pool)
        ids: list[str] = []
        owner_id = UserId(uuid.UUID(owner.user_id))
        for group in editors:
            head = await store.create_dashboard(
                owner_id=owner_id, title=DASHBOARD_TITLE, document=new_document(DASHBOARD_TITLE)
            )
            for account in group:
                await access.add_collaborator(
                    DashboardId(head.dashboard_id),
                    UserId(uuid.UUID(account.user_id)),
                    "editor",
                    added_by=owner_id,
                )
            ids.append(str(head.dashboard_id))
        return ids
    finally:
        await store.close()


async def _migrate(database_url: str) -> None:
    await migrate(database_url)
    async with connection(database_url) as conn:
        await ensure_partitions(conn)


@dataclass
class ReferenceServer:
    """``tests/node/reference_server.js``: stock ShareDB on the same PostgreSQL and Redis."""

    port: int
    log_path: Path
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(
        self, database_url: str, redis_url: str, prefix: str, docs: list[str], deflate: bool
    ) -> None:
        config = {
            "deflate": deflate,
            "port": self.port,
            "databaseUrl": database_url,
            "redisUrl": redis_url,
            "prefix": prefix,
            "docs": docs,
            "document": new_document(DASHBOARD_TITLE),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [os.environ.get("NODE", "node"), str(NODE_DIR / "reference_server.js")],
                cwd=NODE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(config))
        self.process.stdin.close()
        line = _read_line(self.process, REFERENCE_START_TIMEOUT)
        reply = json.loads(line) if line else {"error": "no output"}
        if not reply.get("ready"):
            self.stop()
            raise RuntimeError(f"reference server did not start: {reply}\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The next stdout line, or "" when the process exits or ``timeout`` passes first."""
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()


@dataclass
class Stack:
    """Services, databases, accounts and server processes of one load run."""

    root: Path
    users: int
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    urls: ServiceUrls | None = None
    tandem_url: str = ""
    reference_url: str = ""
    accounts: list[Account] = field(default_factory=list)
    owner: Account | None = None
    _embedded: EmbeddedServices | None = field(default=None, repr=False)
    _databases: list[str] = field(default_factory=list, repr=False)
    gateways: list[Gateway] = field(default_factory=list, repr=False)
    reference: ReferenceServer | None = field(default=None, repr=False)

    @property
    def prefix(self) -> str:
        return f"tandem-load-{self.tag}:"

    @property
    def log_dir(self) -> Path:
        path = self.root / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._embedded = EmbeddedServices.from_env(root=self.root)
        self.urls = self._embedded.start()
        tandem_db = f"tandem_load_{self.tag}"
        reference_db = f"sharedb_load_{self.tag}"
        for name in (tandem_db, reference_db):
            asyncio.run(_admin(self.urls.database_url, f'CREATE DATABASE "{name}"'))
            self._databases.append(name)
        self.tandem_url = with_database(self.urls.database_url, tandem_db)
        self.reference_url = with_database(self.urls.database_url, reference_db)
        asyncio.run(_migrate(self.tandem_url))
        made = asyncio.run(_create_accounts(self.tandem_url, self.users + 1, self.tag))
        self.owner, self.accounts = made[0], made[1:]

    def dashboards(self, editors: list[list[int]]) -> list[str]:
        """Fresh Tandem dashboards; entry k lists the account indexes that edit dashboard k."""
        assert self.owner is not None
        groups = [[self.accounts[i] for i in group] for group in editors]
        return asyncio.run(_create_dashboards(self.tandem_url, self.owner, groups))

    def gateway_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        assert self.urls is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        env.update(
            DATABASE_URL=self.tandem_url,
            REDIS_URL=self.urls.redis_url,
            TANDEM_REDIS_PREFIX=self.prefix,
            TANDEM_HOME=str(self.root.resolve()),
            TANDEM_LOG_FORMAT="json",
            TANDEM_LOG_LEVEL=os.environ.get("TANDEM_LOG_LEVEL", "warning"),
            PYTHONUNBUFFERED="1",
            **UNLIMITED,
        )
        env.update(extra or {})
        return env

    def start_gateways(
        self, count: int, name: str, extra: Sequence[Mapping[str, str]] = ()
    ) -> list[Gateway]:
        self.stop_servers()
        self.gateways = start_gateways(count, self.gateway_env(), self.log_dir, name, extra)
        return self.gateways

    def start_reference(self, docs: list[str], *, deflate: bool = False) -> ReferenceServer:
        assert self.urls is not None
        self.stop_servers()
        server = ReferenceServer(port=free_port(), log_path=self.log_dir / "reference.log")
        server.start(
            self.reference_url, self.urls.redis_url, f"sharedb-load-{self.tag}", docs, deflate
        )
        self.reference = server
        return server

    def stop_servers(self) -> None:
        for gateway in self.gateways:
            gateway.stop()
        self.gateways = []
        if self.reference is not None:
            self.reference.stop()
            self.reference = None

    def close(self) -> None:
        try:
            self.stop_servers()
            if self.urls is not None:
                self._forget_redis_keys(self.urls.redis_url)
                for name in self._databases:
                    asyncio.run(
                        _admin(
                            self.urls.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                        )
                    )
                self._databases = []
        finally:
            if self._embedded is not None:
                self._embedded.stop()
                self._embedded = None

    def _forget_redis_keys(self, url: str) -> None:
        client: Any = redis.Redis.from_url(url)
        try:
            for key in client.scan_iter(match=self.prefix + "*", count=1000):
                client.delete(key)
        finally:
            client.close()


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def running_stack(root: Path, users: int) -> Iterator[Stack]:
    """A stack that is torn down however the run ends, a SIGTERM included (it becomes
    SystemExit, so the cleanup below runs instead of leaving servers and databases behind)."""
    signal.signal(signal.SIGTERM, _terminated)
    stack = Stack(root=root, users=users)
    try:
        stack.open()
        yield stack
    finally:
        stack.close()
