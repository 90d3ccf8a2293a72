"""Protocol-level load on Tandem's gateway, side by side with a stock ShareDB server.

Stock ShareDB clients (``tests/node/load.js``) edit dashboards over WebSockets on loopback; the
same clients, less the auth frame, drive ``tests/node/reference_server.js`` (sharedb@7 on
sharedb-postgres and sharedb-redis-pubsub) on the same PostgreSQL and Redis. Each client sets
``settings["c<i>"]`` to ``{t, n}``; the ack latency is submit to ack, the broadcast latency
submit (``t``) to receipt by the other clients of the dashboard. Scenarios (goals from the
issue):

- A: one dashboard, 20 writers in a closed loop: >= 1,600 ops/s, ack p99 <= 50 ms;
- B: 50 dashboards x 4 writers in a closed loop: >= 4,000 ops/s, ack p99 <= 100 ms;
- C: one dashboard, 200 clients each sending 1 op/s: every op acked, broadcast p99 <= 100 ms.

Everything runs on one machine: the servers, PostgreSQL, Redis and the load generator share its
cores, and the table shows who used them. A generator that used most of a core, or whose event
loop lagged, is flagged: its latencies then include its own queueing.

Configuration (environment): ``BENCH_MEASURE`` seconds measured per scenario (10),
``BENCH_WARMUP`` seconds before that (2), ``BENCH_SCENARIOS`` (``A,B,C``), ``BENCH_GATEWAYS``
Tandem gateway process counts to try (``1,2,0``; ``0`` is one front gateway taking every client
plus one sequencer process, see ``TANDEM_SEQUENCER``), ``BENCH_ROUTING`` how the clients of several
processes are placed (``dashboard,spread``: a row for each; ``dashboard`` puts every client of a
dashboard on one process, as a load balancer hashing the dashboard id does, ``spread`` deals
each dashboard's clients over all of them),
``BENCH_REFERENCE`` (``1``; ``0`` skips ShareDB), ``BENCH_GENERATORS`` Node processes of the
load generator (``1``), ``BENCH_CLIENT`` ``wire`` (the protocol by hand: cheap enough for 200
clients on one dashboard) or ``sharedb`` (the stock client), ``BENCH_DEFLATE`` ``1`` to have the
clients offer permessage-deflate (Tandem accepts it, and the reference is told to as well;
``0``, the default, leaves every frame uncompressed on both), ``TANDEM_LOG_LEVEL`` of the
gateways (``warning``). With
``DATABASE_URL`` / ``REDIS_URL`` those servers are used, otherwise embedded ones under
``.tandem/bench``. Raw results go to ``.tandem/bench/gateway.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from loadtests.cpu import (
    CpuProbe,
    Member,
    find_pids,
    in_groups,
    reference_loop_ms,
    with_children,
)
from loadtests.generator import ClientSpec, LoadResult, run_load
from loadtests.stack import Stack, running_stack

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / ".tandem" / "bench"
REFERENCE = "sharedb"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    dashboards: int
    writers: int  # per dashboard
    mode: str  # "closed" or "paced"
    goal_ops: float | None = None
    goal_ack_p99: float | None = None
    goal_bcast_p99: float | None = None

    @property
    def clients(self) -> int:
        return self.dashboards * self.writers

    def goal(self) -> str:
        parts = []
        if self.goal_ops is not None:
            parts.append(f">= {self.goal_ops:,.0f} ops/s")
        if self.goal_ack_p99 is not None:
            parts.append(f"ack p99 <= {self.goal_ack_p99:.0f} ms")
        if self.mode == "paced":
            parts.append("every op acked")
        if self.goal_bcast_p99 is not None:
            parts.append(f"bcast p99 <= {self.goal_bcast_p99:.0f} ms")
        return ", ".join(parts)

    def met(self, result: LoadResult) -> bool:
        checks = [result.errors == 0, result.failed == 0]
        if self.goal_ops is not None:
            checks.append(result.ops_per_sec >= self.goal_ops)
        if self.goal_ack_p99 is not None:
            checks.append(_le(result.ack.p99, self.goal_ack_p99))
        if self.goal_bcast_p99 is not None:
            checks.append(_le(result.broadcast.p99, self.goal_bcast_p99))
        if self.mode == "paced":
            # A skipped tick is a client still waiting for its previous ack after a second.
            checks += [result.unacked == 0, result.skipped == 0, result.sent > 0]
        return all(checks)


def _le(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


SCENARIOS = {
    "A": Scenario("A", "1 dashboard x 20 writers", 1, 20, "closed", 1600, 50),
    "B": Scenario("B", "50 dashboards x 4 writers", 50, 4, "closed", 4000, 100),
    "C": Scenario("C", "1 dashboard x 200 clients at 1 op/s", 1, 200, "paced", None, None, 100),
}


@dataclass(frozen=True)
class Config:
    measure: float
    warmup: float
    scenarios: tuple[Scenario, ...]
    gateways: tuple[int, ...]
    reference: bool
    generators: int
    client: str
    deflate: bool
    routings: tuple[str, ...]

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        keys = [k.strip().upper() for k in env.get("BENCH_SCENARIOS", "A,B,C").split(",")]
        return cls(
            measure=float(env.get("BENCH_MEASURE", "10")),
            warmup=float(env.get("BENCH_WARMUP", "2")),
            scenarios=tuple(SCENARIOS[k] for k in keys if k in SCENARIOS),
            gateways=tuple(int(n) for n in env.get("BENCH_GATEWAYS", "1,2,0").split(",") if n),
            reference=env.get("BENCH_REFERENCE", "1") != "0",
            generators=int(env.get("BENCH_GENERATORS", "1")),
            client=env.get("BENCH_CLIENT", "wire"),
            deflate=env.get("BENCH_DEFLATE", "0") == "1",
            routings=tuple(
                r for r in env.get("BENCH_ROUTING", "dashboard,spread").split(",") if r in ROUTES
            ),
        )


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    server: str
    result: LoadResult

    @property
    def met(self) -> bool:
        return self.scenario.met(self.result)


def _editor_groups(scenario: Scenario) -> list[list[int]]:
    w = scenario.writers
    return [list(range(d * w, (d + 1) * w)) for d in range(scenario.dashboards)]


def _services_probe(stack: Stack) -> dict[str, Member]:
    """PostgreSQL (postmaster and its backends) and Redis, when they are the embedded ones."""
    root = stack.root.resolve()
    postgres = with_children(find_pids(str(root / "pg")))
    redis = in_groups(find_pids(str(root / "redis")))
    return {"pg+redis": lambda s: postgres(s) or redis(s)}


# Which gateway client i of a scenario connects to, among n: "dashboard" sends every client of
# a dashboard to the same one (what a load balancer hashing the dashboard id in the URL does,
# see deploy/nginx.conf), "spread" deals the clients of each dashboard out over all of them.
ROUTES: dict[str, Callable[[Scenario, int, int], int]] = {
    "dashboard": lambda s, i, n: (i // s.writers) % n,
    "spread": lambda s, i, n: i % n,
}


def _run_scenario(
    stack: Stack,
    config: Config,
    scenario: Scenario,
    server: str,
    urls: list[str],
    dashboards: list[str],
    server_pgids: list[int],
    authenticate: bool,
    routing: str = "spread",
) -> Row:
    route = ROUTES[routing]
    specs = [
        ClientSpec(
            index=i,
            dashboard=dashboards[i // scenario.writers],
            url=urls[route(scenario, i, len(urls))],
            token=stack.accounts[i].token if authenticate else None,
        )
        for i in range(scenario.clients)
    ]
    probe = CpuProbe({"server": in_groups(server_pgids), **_services_probe(stack)})
    result = run_load(
        specs,
        mode=scenario.mode,
        client=config.client,
        deflate=config.deflate,
        rate=1.0,
        warmup=config.warmup,
        measure=config.measure,
        processes=config.generators,
        probe=probe,
    )
    row = Row(scenario, server, result)
    print(_line(row), flush=True)
    return row


def tandem_rows(
    stack: Stack, config: Config, count: int, env: Mapping[str, str] | None = None, tag: str = ""
) -> list[Row]:
    """Rows for ``count`` gateway processes; 0 stands for the split roles: one front gateway
    that takes every client and one sequencer process (TANDEM_SEQUENCER). ``env`` adds to every
    process's environment, ``tag`` to the rows' server name."""
    dashboards = {s.key: stack.dashboards(_editor_groups(s)) for s in config.scenarios}
    split = count == 0
    env = env or {}
    if split:
        gateways = stack.start_gateways(2, "bench-split", [{"TANDEM_SEQUENCER": "0", **env}, env])
    else:
        gateways = stack.start_gateways(count, f"bench-x{count}", [env] * count)
    routings = config.routings if count > 1 else ("spread",)
    label = ("tandem 1 front+1 seq" if split else f"tandem x{count}") + tag
    try:
        urls = [gateways[0].url] if split else [g.url for g in gateways]
        pgids = [g.pid for g in gateways]
        return [
            _run_scenario(
                stack,
                config,
                s,
                label + (f" {routing}" if count > 1 else ""),
                urls,
                dashboards[s.key],
                pgids,
                True,
                routing,
            )
            for routing in routings
            for s in config.scenarios
        ]
    finally:
        stack.stop_servers()


def _reference_rows(stack: Stack, config: Config) -> list[Row]:
    dashboards = {s.key: [str(uuid.uuid4()) for _ in range(s.dashboards)] for s in config.scenarios}
    docs = [d for ids in dashboards.values() for d in ids]
    reference = stack.start_reference(docs, deflate=config.deflate)
    try:
        return [
            _run_scenario(
                stack,
                config,
                s,
                REFERENCE,
                [reference.url],
                dashboards[s.key],
                [reference.pid],
                False,
            )
            for s in config.scenarios
        ]
    finally:
        stack.stop_servers()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _cpu(result: LoadResult) -> str:
    c = result.cpu
    server = f"{c.get('server', 0.0):.2f}({c.get('server_wait', 0.0):.2f})"
    rest = (f"{c.get(k, 0.0):.2f}" for k in ("pg+redis", "generator", "machine"))
    return "/".join([server, *rest])


def _starved(result: LoadResult) -> bool:
    """The server sat runnable, waiting for a core, at least half as long as it ran."""
    ran, waited = result.cpu.get("server", 0.0), result.cpu.get("server_wait", 0.0)
    return waited > 0.1 and waited >= 0.5 * ran


def _notes(row: Row) -> str:
    r = row.result
    notes = []
    if row.scenario.mode == "paced" and (r.unacked or r.skipped):
        notes.append(f"unacked {r.unacked}, skipped {r.skipped}")
    if r.errors:
        notes.append(f"{r.errors} errors: {r.error_samples[:1]}")
    if r.generator_saturated:
        loads = ", ".join(
            f"cpu {cpu:.0%}, loop lag p99 {lag:.0f} ms"
            for cpu, lag in zip(r.generator_cpu, r.generator_loop_p99_ms, strict=True)
        )
        # Near a full core it is the limit; a lagging loop below that was starved by others.
        limit = any(cpu > 0.85 for cpu in r.generator_cpu)
        what = "GENERATOR IS A LIMIT" if limit else "generator lagged"
        notes.append(f"{what} ({loads}): latencies include its own queueing")
    if _starved(r):
        notes.append("server starved of CPU (see its wait)")
    return "; ".join(notes)


HEADER = (
    f"{'scenario':<9}{'server':<20}{'ops/s':>9}{'ack p50':>9}{'ack p99':>9}{'bcast p99':>10}"
    f"{'acked/sent':>13}  {'goal met':<9}{'cpu srv(wait)/db/gen/all':<28}notes"
)


def _line(row: Row) -> str:
    r = row.result
    return (
        f"{row.scenario.key:<9}{row.server:<20}{r.ops_per_sec:>9,.0f}{_ms(r.ack.p50):>9}"
        f"{_ms(r.ack.p99):>9}{_ms(r.broadcast.p99):>10}{f'{r.acked}/{r.sent}':>13}  "
        f"{'yes' if row.met else 'NO':<9}{_cpu(r):<28}{_notes(row)}"
    )


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def report(config: Config, rows: list[Row], baseline: str = REFERENCE) -> None:
    """Each scenario's rows, and each row's ratios to the ``baseline`` server's."""
    print(
        "\nlatencies in ms; cpu = cores used over the window: server (and the cores' worth of"
        " time it sat runnable, waiting for one) / PostgreSQL+Redis / load generator / whole machine"
    )
    print(
        f"machine: {os.cpu_count()} cores shared by all of them and anything else running"
        f" (load average now {load_average()}; speed now {reference_loop_ms()} ms, see"
        " loadtests.cpu.reference_loop_ms)"
    )
    for scenario in config.scenarios:
        print(f"\n{scenario.key}: {scenario.title}; goal {scenario.goal()}")
        print(HEADER)
        mine = [row for row in rows if row.scenario is scenario]
        for row in mine:
            print(_line(row))
        reference = next((row.result for row in mine if row.server == baseline), None)
        if reference is None:
            continue
        for row in mine:
            if row.server == baseline:
                continue
            r = row.result
            print(
                f"  {row.server} / {baseline}: ops/s {_ratio(r.ops_per_sec, reference.ops_per_sec)}"
                f", ack p99 {_ratio(r.ack.p99, reference.ack.p99)}"
                f", bcast p99 {_ratio(r.broadcast.p99, reference.broadcast.p99)}"
            )


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def write_json(config: Config, rows: list[Row], name: str = "gateway") -> Path:
    path = BENCH_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cores": os.cpu_count(),
        "config": {
            "measure": config.measure,
            "warmup": config.warmup,
            "gateways": list(config.gateways),
            "generators": config.generators,
            "client": config.client,
            "deflate": config.deflate,
        },
        "load_average": load_average(),
        "rows": [
            {
                "scenario": dataclasses.asdict(row.scenario),
                "server": row.server,
                "goal_met": row.met,
                "result": dataclasses.asdict(row.result),
            }
            for row in rows
        ],
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def main() -> None:
    config = Config.from_env()
    users = max(s.clients for s in config.scenarios)
    print(
        f"gateway load: {config.warmup:g} s warm-up + {config.measure:g} s measured per scenario,"
        f" {config.generators} generator process(es), {config.client} clients"
        f" ({'with' if config.deflate else 'no'} permessage-deflate);"
        f" load average {load_average()}; machine speed {reference_loop_ms()} ms"
        " (reference loop, lower is faster); starting services ...",
        flush=True,
    )
    rows: list[Row] = []
    with running_stack(BENCH_DIR, users) as stack:
        print(HEADER, flush=True)
        for count in config.gateways:
            rows += tandem_rows(stack, config, count)
        if config.reference:
            rows += _reference_rows(stack, config)
    report(config, rows)
    print(f"\nraw results: {write_json(config, rows)}")
