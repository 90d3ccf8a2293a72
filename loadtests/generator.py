"""Drive ``tests/node/load.js``: one or more Node processes sharing the clients of one run.

Every process connects its clients and reports ready; then all are given the same start time,
so their warm-ups and measuring windows coincide. Their latency histograms (1%-wide buckets)
are merged here, so the percentiles are over every client of the run.
"""

from __future__ import annotations

import json
import math
import os
import selectors
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.cpu import CpuProbe, in_groups

NODE_DIR = Path(__file__).resolve().parents[1] / "tests" / "node"
READY_TIMEOUT = 120.0
BUCKET_BASE = math.log(1.01)


@dataclass(frozen=True)
class ClientSpec:
    index: int
    dashboard: str
    url: str
    token: str | None  # None: no auth frame (the reference server)


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float | None
    p99: float | None
    max: float


@dataclass(frozen=True)
class LoadResult:
    clients: int
    seconds: float
    ops_per_sec: float
    sent: int
    acked: int
    failed: int
    unacked: int
    skipped: int
    errors: int
    error_samples: list[Any]
    ack: Latency
    broadcast: Latency
    generator_cpu: list[float]
    generator_loop_p99_ms: list[float]
    generator_saturated: bool
    cpu: dict[str, float]


def _percentile(buckets: Counter[int], count: int, p: float) -> float | None:
    if count == 0:
        return None
    rank = math.ceil(p / 100 * count)
    seen = 0
    for key in sorted(buckets):
        seen += buckets[key]
        if seen >= rank:
            return math.exp((key + 0.5) * BUCKET_BASE) / 1000
    return None


def _merge(parts: Sequence[dict[str, Any]]) -> Latency:
    buckets: Counter[int] = Counter()
    for part in parts:
        buckets.update({int(k): int(v) for k, v in part["buckets"].items()})
    count = sum(int(part["count"]) for part in parts)
    return Latency(
        count=count,
        p50=_percentile(buckets, count, 50),
        p99=_percentile(buckets, count, 99),
        max=max((float(part["max"]) for part in parts), default=0.0),
    )


class _Process:
    def __init__(self, config: dict[str, Any]) -> None:
        # A file, not a pipe: nobody reads stderr while the run goes on, and a full pipe would
        # block the generator.
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close())
        self.popen = subprocess.Popen(
            [os.environ.get("NODE", "node"), str(NODE_DIR / "load.js")],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            start_new_session=True,
        )
        self.send(config)

    def send(self, message: dict[str, Any]) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(json.dumps(message) + "\n")
        self.popen.stdin.flush()

    def line(self, deadline: float) -> dict[str, Any]:
        assert self.popen.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.popen.stdout, selectors.EVENT_READ)
            if not selector.select(max(0.0, deadline - time.monotonic())):
                raise RuntimeError("load generator: no answer before the deadline")
        text = self.popen.stdout.readline()
        if not text:
            self.popen.wait(timeout=10)
            raise RuntimeError(
                f"load generator exited ({self.popen.returncode}): {self.stderr_tail()}"
            )
        message: dict[str, Any] = json.loads(text)
        if "error" in message:
            raise RuntimeError(f"load generator failed: {message['error']}")
        return message

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()
        self.stderr.close()


def run_load(
    clients: Sequence[ClientSpec],
    *,
    mode: str = "closed",
    client: str = "wire",
    deflate: bool = False,
    rate: float = 1.0,
    warmup: float = 2.0,
    measure: float = 10.0,
    drain: float = 5.0,
    processes: int = 1,
    probe: CpuProbe | None = None,
) -> LoadResult:
    """Run ``clients`` against their servers and return the merged numbers of the window;
    ``probe`` (its sets, plus ``generator``) is read over the same window."""
    processes = max(1, min(processes, len(clients)))
    shares = [list(clients[i::processes]) for i in range(processes)]
    started: list[_Process] = []
    try:
        for share in shares:
            config = {
                "clients": [spec.__dict__ for spec in share],
                "mode": mode,
                "client": client,
                "deflate": deflate,
                "rate": rate,
                "warmupMs": warmup * 1000,
                "measureMs": measure * 1000,
                "drainMs": drain * 1000,
            }
            started.append(_Process(config))
        ready_by = time.monotonic() + READY_TIMEOUT
        for process in started:
            process.line(ready_by)
        go = time.time() + 0.3
        for process in started:
            process.send({"go": go * 1000})
        done_by = time.monotonic() + warmup + measure + drain + 60
        cpu: dict[str, float] = {}
        if probe is not None:
            probe.sets["generator"] = in_groups(p.popen.pid for p in started)
            time.sleep(max(0.0, go + warmup - time.time()))
            probe.start()
            time.sleep(max(0.0, go + warmup + measure - time.time()))
            cpu = probe.stop()
        results = [process.line(done_by) for process in started]
    finally:
        for process in started:
            process.close()
    return _combine(results, measure, cpu)


def _combine(results: list[dict[str, Any]], seconds: float, cpu: dict[str, float]) -> LoadResult:
    def total(key: str) -> int:
        return sum(int(r[key]) for r in results)

    return LoadResult(
        clients=total("clients"),
        seconds=seconds,
        ops_per_sec=sum(float(r["opsPerSec"]) for r in results),
        sent=total("sent"),
        acked=total("acked"),
        failed=total("failed"),
        unacked=total("unacked"),
        skipped=total("skipped"),
        errors=total("errors"),
        error_samples=[s for r in results for s in r["errorSamples"]][:5],
        ack=_merge([r["ack"] for r in results]),
        broadcast=_merge([r["broadcast"] for r in results]),
        generator_cpu=[float(r["generator"]["cpu"]) for r in results],
        generator_loop_p99_ms=[float(r["generator"]["loopDelayP99Ms"]) for r in results],
        generator_saturated=any(bool(r["generator"]["saturated"]) for r in results),
        cpu=cpu,
    )
