"""Benchmark of the PostgreSQL op log: commit throughput and snapshot load latency.

Runs against a fresh database (dropped afterwards) on ``DATABASE_URL`` or the embedded server
under ``.tandem/bench``. Reports committed ops/s for batches of 1, 10 and 100 ops, and the time
to load a dashboard with 10,000 ops of history at its head and at random versions, with the
default checkpoint interval. The goal is a load p95 of at most 30 ms.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from loadtests.bench.scratch import scratch_database
from ot import json0
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.embedded import EmbeddedServices
from server.store.accounts import Accounts
from server.store.model import JsonOp, NewOp
from server.store.postgres import PostgresStore

WIDGETS = 20
HISTORY = 10_000
LOADS = 200
GOAL_P95_MS = 30.0
# (ops per commit, commits): about the same wall time for each size.
THROUGHPUT_RUNS = ((1, 1000), (10, 300), (100, 100))


def _document() -> dict[str, Any]:
    widgets = {
        f"w{i}": {
            "type": "chart", "title": f"Panel {i}",
            "position": {"x": i % 4 * 3, "y": i // 4 * 3, "width": 3, "height": 3, "zIndex": i},
            "config": {"metric": f"m{i}", "window": "5m"}, "data": {}, "isLocked": False,
        }
        for i in range(WIDGETS)
    }  # fmt: skip
    return {"title": "Bench", "description": "", "settings": {"theme": "dark"},
            "widgets": widgets, "layout": sorted(widgets)}  # fmt: skip


def _op(doc: dict[str, Any], rng: random.Random) -> tuple[JsonOp, str | None]:
    """A small realistic edit: nudge a widget, retitle it, or retitle the dashboard."""
    wid = f"w{rng.randrange(WIDGETS)}"
    roll = rng.random()
    if roll < 0.6:
        return [{"p": ["widgets", wid, "position", "x"], "na": rng.choice((-1, 1))}], wid
    if roll < 0.9:
        old = doc["widgets"][wid]["title"]
        return [{"p": ["widgets", wid, "title"], "od": old, "oi": f"Panel {rng.random():.4f}"}], wid
    return [{"p": ["title"], "od": doc["title"], "oi": f"Bench {rng.random():.4f}"}], None


class Writer:
    """Stands in for the sequencer: keeps the document and commits batches at the head."""

    def __init__(self, store: PostgresStore, dashboard_id: DashboardId, epoch: int) -> None:
        self.store = store
        self.dashboard_id = dashboard_id
        self.epoch = epoch
        self.version = 1
        self.document: Any = _document()
        self.seq = 0
        self.rng = random.Random(7)

    def batch(self, size: int) -> list[NewOp]:
        ops = []
        for _ in range(size):
            op, target = _op(self.document, self.rng)
            self.document, inverse = json0.apply_and_invert(self.document, op)
            self.seq += 1
            ops.append(NewOp("bench", self.seq, None, self.version, op, inverse, "update", target))
        return ops

    async def commit(self, ops: list[NewOp]) -> None:
        self.version = await self.store.commit(
            self.dashboard_id, base_version=self.version, epoch=self.epoch, ops=ops,
            document=self.document,
        )  # fmt: skip


async def _writer(store: PostgresStore, owner: UserId) -> Writer:
    head = await store.create_dashboard(owner_id=owner, title="Bench", document=_document())
    epoch = await store.acquire_epoch(head.dashboard_id)
    return Writer(store, head.dashboard_id, epoch)


async def _throughput(store: PostgresStore, owner: UserId) -> None:
    for size, commits in THROUGHPUT_RUNS:
        writer = await _writer(store, owner)
        batches = [writer.batch(size) for _ in range(commits)]  # built outside the timing
        started = time.perf_counter()
        for ops in batches:
            await writer.commit(ops)
        elapsed = time.perf_counter() - started
        print(
            f"commit  batch {size:>3}: {size * commits / elapsed:>9.0f} ops/s"
            f"  {commits / elapsed:>7.0f} commits/s  ({size * commits} ops)"
        )


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"p50 {statistics.median(ms):6.2f} ms  p95 {p95:6.2f} ms  max {ms[-1]:6.2f} ms"


async def _loads(store: PostgresStore, owner: UserId, interval: int) -> bool:
    writer = await _writer(store, owner)
    for _ in range(HISTORY // 100):
        await writer.commit(writer.batch(100))
    d, head, rng = writer.dashboard_id, writer.version, random.Random(11)
    timings: dict[str, list[float]] = {"head": [], "random version": []}
    for _ in range(LOADS):
        for name, version in (("head", None), ("random version", rng.randint(1, head))):
            started = time.perf_counter()
            snap = await store.load(d, version=version)
            timings[name].append(time.perf_counter() - started)
            if version is None and snap.document != writer.document:
                raise AssertionError("the loaded head differs from the written document")
    started = time.perf_counter()
    await store.load(d, from_scratch=True)
    scratch = time.perf_counter() - started
    print(f"load {HISTORY} ops of history, checkpoint every {interval}:")
    for name, samples in timings.items():
        print(f"  at {name:<15} {_percentiles(samples)}  ({LOADS} loads)")
    print(f"  from scratch     {scratch * 1000:6.1f} ms (replaying {head - 1} ops)")
    worst = max(sorted(s)[int(LOADS * 0.95) - 1] for s in timings.values()) * 1000
    verdict = "met" if worst <= GOAL_P95_MS else "MISSED"
    print(f"goal load p95 <= {GOAL_P95_MS:.0f} ms: {verdict} ({worst:.2f} ms)")
    return worst <= GOAL_P95_MS


async def _bench(url: str) -> None:
    async with scratch_database(url, "tandem_bench") as bench_url:
        interval = Settings.from_env().checkpoint_interval
        store = await PostgresStore.open(
            bench_url, checkpoint_interval=interval, min_size=1, max_size=2
        )
        try:
            owner = await Accounts(store.pool).create_user(f"{uuid4()}@bench", str(uuid4()))
            await _throughput(store, owner)
            await _loads(store, owner, interval)
        finally:
            await store.close()


def main() -> None:
    with EmbeddedServices.from_env(root=Path(".tandem/bench")) as urls:
        asyncio.run(_bench(urls.database_url))


if __name__ == "__main__":
    main()
