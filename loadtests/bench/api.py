"""Benchmark of the HTTP API on a big database.

The dataset is made in PostgreSQL itself (``generate_series``, a few statements): 1,001 users,
100,000 dashboards of which the bench user owns 500 and collaborates on 500, and 1,000,000
operations; one of the user's dashboards has 200 widgets (made through the store, so its
checkpoint and widget rows are real). Then, through the whole app (httpx on its ASGI interface,
auth, validation, row-level security, serialisation):

- list: ``GET /api/dashboards`` (first page of 50), goal p95 <= 10 ms;
- get: ``GET /api/dashboards/{id}`` of the 200-widget dashboard, goal p95 <= 10 ms;
- search: 900,000 more dashboards are added (1,000,000 in all) and ``GET /api/dashboards?q=``
  asks for a word in 20 of the user's dashboards, goal p95 <= 50 ms;
- login: ``POST /api/sessions`` (Argon2id dominates; its parameters are printed);
- req/s of list and get on one process, next to a bare Starlette JSON endpoint driven the same
  way, as a ratio.

Runs against a fresh database (dropped afterwards) and a private Redis prefix, on
``DATABASE_URL`` / ``REDIS_URL`` or the embedded servers under ``.tandem/bench``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loadtests.bench.scratch import scratch_database
from loadtests.cpu import reference_loop_ms
from server.app import Running, create_app, tune_gc
from server.core.ids import UserId
from server.core.settings import Settings
from server.embedded import EmbeddedServices
from server.gateway import auth
from server.gateway.auth import hash_password

USERS = 1_000
DASHBOARDS = 100_000
SEARCH_DASHBOARDS = 1_000_000
OPERATIONS = 1_000_000
OWNED = 500
SHARED = 500
WIDGETS = 200
RUNS = 200
THROUGHPUT_SECONDS = 3.0
PASSWORD = "bench password 1"
WORD = "zephyrine"
GOALS_MS = {"list": 10.0, "get 200 widgets": 10.0, "search": 50.0}

DATASET = [
    f"""INSERT INTO users (id, email, username, display_name)
        SELECT gen_random_uuid(), 'u' || i || '@bench.io', 'u' || i, 'User ' || i
          FROM generate_series(1, {USERS}) i""",
    # Other people's dashboards, owned round-robin by the other users.
    """WITH u AS (SELECT array_agg(id) AS ids FROM users)
       INSERT INTO dashboards (owner_id, title, description, updated_at)
       SELECT u.ids[1 + i % {users}],
              'Board ' || i || ' ' || (ARRAY['sales','ops','latency','revenue','growth'])[1 + i % 5],
              'metrics for team ' || (i % 97) || ' and region ' || (i % 13),
              now() - (i || ' seconds')::interval
         FROM generate_series(1, {count}) i, u""",
]
OWN = f"""
INSERT INTO dashboards (owner_id, title, description, updated_at)
SELECT $1, 'Mine ' || i || CASE WHEN i % 25 = 0 THEN ' {WORD}' ELSE '' END,
       'my board number ' || i, now() - (i || ' minutes')::interval
  FROM generate_series(1, {OWNED}) i
"""
SHARE = f"""
INSERT INTO dashboard_collaborators (dashboard_id, user_id, role)
SELECT id, $1, (ARRAY['viewer','editor','admin'])[1 + (row_number() OVER ()) % 3]
  FROM (SELECT id FROM dashboards WHERE owner_id <> $1 ORDER BY id LIMIT {SHARED}) s
"""
OPS = f"""
INSERT INTO operations (dashboard_id, user_id, operation_type, target_id, operation, inverse,
                        version, client_version, server_version, src, seq)
SELECT d.id, d.owner_id, 'update', NULL, '[]'::jsonb, '[]'::jsonb, g.v, g.v, g.v, 'bench', g.v
  FROM (SELECT id, owner_id, row_number() OVER (ORDER BY id) AS n FROM dashboards) d
  JOIN LATERAL generate_series(1, 10) AS g(v) ON true
 WHERE d.n <= {OPERATIONS // 10}
"""


def _document(title: str) -> dict[str, Any]:
    widgets = {
        f"w{i:03d}": {
            "type": "chart", "title": f"Panel {i}",
            "position": {"x": i % 12, "y": i // 12, "width": 3, "height": 3, "zIndex": i},
            "config": {"metric": f"m{i}"}, "data": {}, "isLocked": False,
        }
        for i in range(WIDGETS)
    }  # fmt: skip
    return {"title": title, "description": "", "settings": {}, "widgets": widgets,
            "layout": sorted(widgets)}  # fmt: skip


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(name: str, samples: list[float], goal: float | None = None) -> None:
    p50, p95 = statistics.median(samples), _p(samples, 0.95)
    verdict = (
        "" if goal is None else f"  goal p95 <= {goal:g} ms: {'met' if p95 <= goal else 'MISSED'}"
    )
    print(f"{name:<18} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {max(samples):7.2f} ms{verdict}")


async def _timed(call: Callable[[], Awaitable[httpx.Response]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        r = await call()
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code < 300, r.text[:200]
    return samples


async def _rate(call: Callable[[], Awaitable[httpx.Response]], concurrency: int = 8) -> float:
    done = 0
    stop = time.perf_counter() + THROUGHPUT_SECONDS

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            r = await call()
            assert r.status_code < 300
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def _build(dsn: str, app_running: Running) -> tuple[UserId, str]:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.execute(DATASET[0])
        await conn.execute(DATASET[1].format(users=USERS, count=DASHBOARDS - OWNED))
        me = UserId(
            await conn.fetchval(
                "INSERT INTO users (email, username, password_hash) VALUES ($1, $2, $3)"
                " RETURNING id",
                "bench@bench.io",
                "bench",
                hash_password(PASSWORD),
            )
        )
        await conn.execute(OWN, me)
        await conn.execute(SHARE, me)
        await conn.execute(OPS)
        head = await app_running.store.create_dashboard(
            owner_id=me, title="Two hundred widgets", document=_document("Two hundred widgets")
        )
        await conn.execute("ANALYZE")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM dashboards) AS d, (SELECT count(*) FROM operations)"
            " AS o, (SELECT count(*) FROM widgets WHERE dashboard_id = $1) AS w",
            head.dashboard_id,
        )
        print(f"dataset: {counts['d']:,} dashboards, {counts['o']:,} operations, "
              f"{counts['w']} widgets on the big one, built in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    finally:
        await conn.close()
    return me, str(head.dashboard_id)


async def _grow(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.execute(DATASET[1].format(users=USERS, count=SEARCH_DASHBOARDS - DASHBOARDS - 1))
        await conn.execute("ANALYZE dashboards")
        total = await conn.fetchval("SELECT count(*) FROM dashboards")
        print(f"search dataset: {total:,} dashboards ({time.perf_counter() - started:.1f} s)")
    finally:
        await conn.close()


async def _bench(database_url: str, redis_url: str) -> None:
    async with scratch_database(database_url, "tandem_bench_api") as dsn:
        settings = Settings(
            database_url=dsn, redis_url=redis_url,
            redis_prefix=f"tandem-bench-api-{secrets.token_hex(4)}:",
            http_requests_per_second_per_user=1_000_000,
            http_requests_per_second_per_address=1_000_000,
            password_attempts_per_minute=1_000_000,
        )  # fmt: skip
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            running: Running = app.state.services
            _, big = await _build(dsn, running)
            tune_gc()  # as a serving process does
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                login = {"login": "bench", "password": PASSWORD}
                r = await http.post("/api/sessions", json=login)
                headers = {"authorization": f"Bearer {r.json()['token']}"}
                listed = await http.get("/api/dashboards", headers=headers)
                assert len(listed.json()["items"]) == 50, listed.text[:200]

                def list_() -> Awaitable[httpx.Response]:
                    return http.get("/api/dashboards", headers=headers)

                def get() -> Awaitable[httpx.Response]:
                    return http.get(f"/api/dashboards/{big}", headers=headers)

                for call in (list_, get):
                    await _timed(call, 20)  # warm caches and prepared statements
                _report("list", await _timed(list_, RUNS), GOALS_MS["list"])
                got = (await get()).json()
                assert len(got["widgets"]) == WIDGETS
                _report("get 200 widgets", await _timed(get, RUNS), GOALS_MS["get 200 widgets"])
                hasher = auth._hasher
                logins = await _timed(lambda: http.post("/api/sessions", json=login), 20)
                _report("login", logins)
                print(f"  Argon2id time_cost={hasher.time_cost} memory_cost={hasher.memory_cost}"
                      f" KiB parallelism={hasher.parallelism}")  # fmt: skip
                list_rate, get_rate = await _rate(list_), await _rate(get)

                await _grow(dsn)

                def search() -> Awaitable[httpx.Response]:
                    return http.get("/api/dashboards", params={"q": WORD}, headers=headers)

                hits = (await search()).json()["items"]
                assert len(hits) == OWNED // 25 and all("<mark>" in h["snippet"] for h in hits)
                await _timed(search, 10)
                _report("search", await _timed(search, RUNS), GOALS_MS["search"])
            bare_rate = await _bare_rate()
            print(f"req/s (one process, httpx on ASGI, 8 concurrent): list {list_rate:,.0f}, "
                  f"get {get_rate:,.0f}, bare Starlette JSON {bare_rate:,.0f}; "
                  f"ratio list {list_rate / bare_rate:.3f}, get {get_rate / bare_rate:.3f}")  # fmt: skip
            print(f"machine speed {reference_loop_ms()} ms, load average "
                  f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip


async def _bare_rate() -> float:
    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"items": [], "next_cursor": None})

    bare = Starlette(routes=[Route("/json", hello)])
    transport = httpx.ASGITransport(app=bare)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        return await _rate(lambda: http.get("/json"))


def main() -> None:
    with EmbeddedServices.from_env(root=Path(".tandem/bench")) as urls:
        asyncio.run(_bench(urls.database_url, urls.redis_url))


if __name__ == "__main__":
    main()
