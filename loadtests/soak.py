"""``make soak`` (not part of the test suite): a long run at half the measured peak, with presence.

One Tandem process on a fresh database (PostgreSQL and Redis embedded under ``.tandem/soak``, or
``DATABASE_URL`` / ``REDIS_URL``), scenario B's shape (50 dashboards by 4 writers) in paced mode
at half of B's measured single-process peak, and one presence client per dashboard moving its
cursor several times a second. Every minute it prints the server's RSS and open file
descriptors, the ack p99 of that minute, the ops acked, and the connections Redis and
PostgreSQL count. The goal: flat after the warm-up (memory growth at most 10 %), p99 unchanged.

Environment: ``SOAK_MINUTES`` (30), ``SOAK_OPS_PER_SECOND`` (1,500: half of the 3,000-odd ops/s
one process sustains in B here), ``SOAK_DASHBOARDS`` (50), ``SOAK_WRITERS`` (4),
``SOAK_PRESENCE_PER_SECOND`` per dashboard (4).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path

import asyncpg
import redis
from websockets.asyncio.client import connect

from loadtests.generator import ClientSpec, run_load
from loadtests.stack import Stack, running_stack

ROOT = Path(__file__).resolve().parents[1]


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _proc(pid: int) -> tuple[float, int]:
    """RSS in MiB and open file descriptors of a process."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def _redis_clients(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("clients")["connected_clients"])
    finally:
        client.close()


async def _pg_connections(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tandem'"
        )
        return count
    finally:
        await conn.close()


async def _presence_client(url: str, token: str, doc: str, rate: float, stop: float) -> int:
    """Fetch the head, then move a cursor there, ``rate`` times a second; updates sent."""
    sent = 0
    async with connect(url) as ws:
        await ws.recv()
        await ws.send(json.dumps({"a": "auth", "token": token}))
        await ws.send(json.dumps({"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2}))
        ch = f"dashboards.{doc}"
        await ws.send(json.dumps({"a": "ps", "ch": ch, "seq": 1}))
        version = 1
        while time.monotonic() < stop:
            await ws.send(json.dumps({"a": "f", "c": "dashboards", "d": doc}))
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("a") == "f":
                    version = reply.get("data", {}).get("v", version)
                    break
            await ws.send(json.dumps({
                "a": "p", "ch": ch, "id": f"soak-{doc[:8]}", "p": {"cursor": sent % 100},
                "pv": sent, "c": "dashboards", "d": doc, "v": version,
            }))  # fmt: skip
            sent += 1
            await asyncio.sleep(1 / rate)
    return sent


def _presence(url: str, tokens: list[str], docs: list[str], rate: float, stop: float) -> None:
    async def everyone() -> None:
        await asyncio.gather(
            *(_presence_client(url, t, d, rate, stop) for t, d in zip(tokens, docs, strict=True)),
            return_exceptions=True,
        )

    asyncio.run(everyone())


def main() -> None:
    minutes = int(_env("SOAK_MINUTES", 30))
    total_rate = _env("SOAK_OPS_PER_SECOND", 1500)
    dashboards = int(_env("SOAK_DASHBOARDS", 50))
    writers = int(_env("SOAK_WRITERS", 4))
    presence_rate = _env("SOAK_PRESENCE_PER_SECOND", 4)
    clients = dashboards * writers
    with running_stack(ROOT / ".tandem" / "soak", clients) as stack:
        _soak(stack, minutes, total_rate / clients, dashboards, writers, presence_rate)


def _soak(
    stack: Stack, minutes: int, rate: float, dashboards: int, writers: int, presence_rate: float
) -> None:
    groups = [list(range(d * writers, (d + 1) * writers)) for d in range(dashboards)]
    docs = stack.dashboards(groups)
    [gateway] = stack.start_gateways(1, "soak")
    specs = [
        ClientSpec(index=i, dashboard=docs[i // writers], url=gateway.url,
                   token=stack.accounts[i].token)
        for i in range(dashboards * writers)
    ]  # fmt: skip
    stop = time.monotonic() + minutes * 60 + 30
    tokens = [stack.accounts[g[0]].token for g in groups]
    presence = threading.Thread(
        target=_presence, args=(gateway.url, tokens, docs, presence_rate, stop), daemon=True
    )
    presence.start()
    assert stack.urls is not None
    print(
        f"soak: {minutes} min, {len(specs)} clients at {rate:.2f} ops/s each "
        f"({rate * len(specs):.0f} ops/s), presence {presence_rate}/s on {dashboards} dashboards",
        flush=True,
    )
    print("minute  rss_mib  fds  acked/s  ack_p99_ms  failed  redis_conns  pg_conns", flush=True)
    for minute in range(1, minutes + 1):
        result = run_load(specs, mode="paced", rate=rate, warmup=1.0, measure=55.0, drain=3.0)
        rss, fds = _proc(gateway.pid)
        p99 = result.ack.p99
        print(
            f"{minute:6d}  {rss:7.1f}  {fds:3d}  {result.ops_per_sec:7.0f}  "
            f"{p99 if p99 is not None else float('nan'):10.1f}  {result.failed:6d}  "
            f"{_redis_clients(stack.urls.redis_url):11d}  "
            f"{asyncio.run(_pg_connections(stack.tandem_url)):8d}",
            flush=True,
        )
    presence.join(timeout=60)


if __name__ == "__main__":
    main()
