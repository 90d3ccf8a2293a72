"""Benchmark of offline sync through the real app (in process, over ASGI, on PostgreSQL and
Redis): a big merge, a drained queue, and the changes feed of a user with many dashboards.

- **merge**: a 100 KB dashboard, a client that changed 100 fields of it offline, and 1,000 ops
  other editors committed since its base: the time from sending the sync to its answer
  (merged, submitted through the sequencer, committed, acknowledged). Goal p95 <= 50 ms.
- **drain**: a client's queue of 100 syncs (a patch each, each with its Idempotency-Key),
  sent one after another as a reconnecting client does. Goal <= 1 s for all 100.
- **changes**: ``GET /api/sync/changes`` for a user with 10,000 dashboards (half owned, half
  shared with them, among 20,000 of other users), 100 of which changed since the cursor.
  Goal p95 <= 20 ms.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import asyncpg
import httpx

from loadtests.cpu import reference_loop_ms
from server.app import Running, create_app, tune_gc
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.embedded import EmbeddedServices
from server.gateway.auth import new_token, token_hash
from server.sequencer.direct import submit_as

WIDGETS = 100
CONFIG_BYTES = 900  # about 1 KB a widget: a 100 KB document
CHANGED_FIELDS = 100
SERVER_OPS = 1_000
MERGE_RUNS = 20
QUEUE = 100
OWNED, SHARED, OTHERS = 5_000, 5_000, 20_000
CHANGED_SINCE = 100
PULLS = 200
GOALS = {"merge": 50.0, "drain": 1000.0, "changes": 20.0}


def _document(rng: random.Random) -> dict[str, Any]:
    widgets = {
        f"w{i:03}": {
            "type": "chart", "title": f"Panel {i}",
            "position": {"x": i % 10, "y": i // 10, "width": 2, "height": 2, "zIndex": i},
            "config": {"query": "".join(rng.choices("abcdefgh ", k=CONFIG_BYTES)), "unit": "ms"},
            "data": {}, "isLocked": False,
        }
        for i in range(WIDGETS)
    }  # fmt: skip
    return {"title": "Bench", "description": "", "settings": {"theme": "dark"},
            "widgets": widgets, "layout": sorted(widgets)}  # fmt: skip


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _report(name: str, samples_ms: list[float], unit: str = "") -> None:
    p95 = _p95(samples_ms)
    print(
        f"{name:<8} p50 {statistics.median(samples_ms):7.2f} ms  p95 {p95:7.2f} ms"
        f"  max {max(samples_ms):7.2f} ms  ({len(samples_ms)} {unit or 'runs'})"
    )


def _verdict(name: str, value_ms: float) -> None:
    goal = GOALS[name]
    print(f"goal {name} <= {goal:.0f} ms: {'met' if value_ms <= goal else 'MISSED'}"
          f" ({value_ms:.2f} ms)")  # fmt: skip


@dataclasses.dataclass
class Bench:
    http: httpx.AsyncClient
    running: Running
    user: UserId
    auth: dict[str, str]

    async def new_dashboard(self, document: dict[str, Any]) -> DashboardId:
        d = DashboardId(uuid4())
        await submit_as(self.running.hub, self.user, d, version=0, create=document)
        return d

    async def server_ops(self, d: DashboardId, count: int, rng: random.Random) -> None:
        """``count`` small edits by other editors, committed concurrently."""
        hub = self.running.hub
        head = (await hub.snapshot(d)).version

        async def one(i: int) -> None:
            wid = f"w{rng.randrange(WIDGETS):03}"
            op = [{"p": ["widgets", wid, "position", "y"], "na": 1}]
            await submit_as(hub, self.user, d, version=head, op=op)

        for start in range(0, count, 100):
            await asyncio.gather(*(one(i) for i in range(start, min(count, start + 100))))

    async def sync(self, d: DashboardId, body: dict[str, Any], key: str | None = None) -> Any:
        headers = dict(self.auth)
        if key is not None:
            headers["idempotency-key"] = key
        r = await self.http.post(f"/api/dashboards/{d}/sync", json=body, headers=headers)
        if r.status_code != 200:
            raise AssertionError(f"sync answered {r.status_code}: {r.text[:500]}")
        return r.json()


def _client_edits(document: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The document with CHANGED_FIELDS fields changed (titles, x positions, units)."""
    local = {**document, "widgets": {k: dict(v) for k, v in document["widgets"].items()}}
    for i, wid in enumerate(rng.sample(sorted(local["widgets"]), CHANGED_FIELDS)):
        widget = local["widgets"][wid]
        if i % 3 == 0:
            widget["title"] = widget["title"] + " (edited)"
        elif i % 3 == 1:
            widget["position"] = {**widget["position"], "x": widget["position"]["x"] + 1}
        else:
            widget["config"] = {**widget["config"], "unit": "s"}
    return local


async def _merge(bench: Bench, rng: random.Random) -> float:
    samples = []
    for _ in range(MERGE_RUNS):
        document = _document(rng)
        d = await bench.new_dashboard(document)
        await bench.server_ops(d, SERVER_OPS, rng)
        local = _client_edits(document, rng)
        started = time.perf_counter()
        answer = await bench.sync(d, {"base_version": 1, "document": local})
        samples.append((time.perf_counter() - started) * 1000)
        if answer["version"] != SERVER_OPS + 2:
            raise AssertionError(f"unexpected version {answer['version']}")
    size = len(str(_document(rng)).encode())
    print(f"merge: {size // 1024} KB dashboard, {CHANGED_FIELDS} fields changed offline,"
          f" {SERVER_OPS} server ops since the base")  # fmt: skip
    _report("merge", samples)
    return _p95(samples)


async def _drain(bench: Bench, rng: random.Random) -> float:
    d = await bench.new_dashboard(_document(rng))
    queue = [
        (secrets.token_hex(8), {"updated": {f"w{i % WIDGETS:03}": {"title": f"queued {i}"}}})
        for i in range(QUEUE)
    ]
    version = 1
    started = time.perf_counter()
    for key, changes in queue:
        answer = await bench.sync(d, {"base_version": version, "changes": changes}, key)
        version = answer["version"]
    elapsed = (time.perf_counter() - started) * 1000
    if version != QUEUE + 1:
        raise AssertionError(f"the queue ended at version {version}")
    print(f"drain: {QUEUE} queued syncs, one after another: {elapsed:.0f} ms"
          f" ({elapsed / QUEUE:.2f} ms each)")  # fmt: skip
    return elapsed


async def _fill_dashboards(pool: asyncpg.Pool, user: UserId) -> list[UUID]:
    """The user's 10,000 dashboards and 20,000 of others, straight into the tables."""
    others = [UserId(uuid4()) for _ in range(20)]
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO users (id, email, username) VALUES ($1, $2, $2)",
            [(u, f"{u}@bench") for u in others],
        )
        owned = await conn.fetch(
            "INSERT INTO dashboards (owner_id, title) SELECT $1, 'mine ' || i"
            " FROM generate_series(1, $2) i RETURNING id",
            user, OWNED,
        )  # fmt: skip
        for n, other in enumerate(others):
            await conn.execute(
                "INSERT INTO dashboards (owner_id, title) SELECT $1, 'theirs ' || i"
                " FROM generate_series(1, $2) i",
                other, OTHERS // len(others),
            )  # fmt: skip
            del n
        shared = await conn.fetch(
            "INSERT INTO dashboard_collaborators (dashboard_id, user_id, role)"
            " SELECT id, $1, 'editor' FROM dashboards WHERE owner_id <> $1"
            " ORDER BY id LIMIT $2 RETURNING dashboard_id",
            user, SHARED,
        )  # fmt: skip
        await conn.execute("ANALYZE dashboards; ANALYZE dashboard_collaborators")
    return [r["id"] for r in owned] + [r["dashboard_id"] for r in shared]


async def _changes(bench: Bench, rng: random.Random) -> float:
    pool = bench.running.store.pool
    mine = await _fill_dashboards(pool, bench.user)
    r = await bench.http.get("/api/sync/changes", headers=bench.auth)
    cursor = r.json()["cursor"]
    for d in rng.sample(mine, CHANGED_SINCE):
        await pool.execute("UPDATE dashboards SET title = title || '*' WHERE id = $1", d)
    samples = []
    for _ in range(PULLS):
        started = time.perf_counter()
        r = await bench.http.get("/api/sync/changes", params={"since": cursor}, headers=bench.auth)
        samples.append((time.perf_counter() - started) * 1000)
        if len(r.json()["changed"]) < CHANGED_SINCE:
            raise AssertionError(f"only {len(r.json()['changed'])} changes reported")
    print(f"changes: a user with {OWNED + SHARED} dashboards ({OWNED} owned, {SHARED} shared),"
          f" {CHANGED_SINCE} changed since the cursor")  # fmt: skip
    _report("changes", samples, "pulls")
    full = []
    for _ in range(20):
        started = time.perf_counter()
        await bench.http.get("/api/sync/changes", params={"limit": 500}, headers=bench.auth)
        full.append((time.perf_counter() - started) * 1000)
    _report("first", full, "first pages of 500, no cursor")
    return _p95(samples)


async def _bench(url: str, redis_url: str) -> None:
    name = f"tandem_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    bench_url = urlunsplit(urlsplit(url)._replace(path="/" + name))
    settings = dataclasses.replace(
        Settings.from_env(), database_url=bench_url, redis_url=redis_url,
        redis_prefix=f"tandem-bench-{secrets.token_hex(4)}:",
        http_requests_per_second_per_user=1_000_000,
        http_requests_per_second_per_address=1_000_000,
        ops_per_second_per_user=1_000_000,
    )  # fmt: skip
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            running: Running = app.state.services
            tune_gc()  # as a serving process does
            user = await running.accounts.create_user(f"{uuid4()}@bench", uuid4().hex)
            token = new_token()
            await running.accounts.create_session(
                user, token_hash(token), datetime.now(UTC) + timedelta(days=1)
            )
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                bench = Bench(http, running, user, {"authorization": f"Bearer {token}"})
                rng = random.Random(12)
                print(f"machine speed: reference loop {reference_loop_ms():.1f} ms")
                results = {
                    "merge": await _merge(bench, rng),
                    "drain": await _drain(bench, rng),
                    "changes": await _changes(bench, rng),
                }
                print(f"machine speed: reference loop {reference_loop_ms():.1f} ms")
                for key, value in results.items():
                    _verdict(key, value)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    with EmbeddedServices.from_env(root=Path(".tandem/bench")) as urls:
        asyncio.run(_bench(urls.database_url, urls.redis_url))


if __name__ == "__main__":
    main()
