"""Check a dashboard's stored history against itself.

For each dashboard: the retained log's versions run without gap or duplicate up to ``head - 1``
and end at the head row's version; the create op is a create; replaying the log reproduces every
checkpoint it passes; and the widgets projection matches the replayed head document. Checkpoints
older than the retained log cannot be replayed to and are counted as unverified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg

from server.core.errors import NotFound
from server.core.ids import DashboardId
from server.store import statements as sql
from server.store.history import (
    Progress,
    ReplayFailed,
    as_json0,
    created_document,
    is_create_record,
    replay,
)
from server.store.pool import translated
from server.store.projection import WidgetRow, widget_rows

CHUNK = 2000
SHOWN = 5  # how many missing versions a problem names


@dataclass(frozen=True)
class Problem:
    what: str  # "log", "head", "create", "checkpoint", "replay", "projection"
    detail: str


@dataclass(frozen=True)
class Verdict:
    dashboard_id: DashboardId
    head: int
    ops_replayed: int
    checkpoints_verified: int
    checkpoints_unverified: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _ranges(missing: list[int]) -> str:
    shown = ", ".join(str(v) for v in missing[:SHOWN])
    return shown + (f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else "")


def _log_problems(versions: list[int], head: int) -> tuple[list[Problem], int]:
    """Problems of the version sequence, and the first version the log is whole from."""
    problems: list[Problem] = []
    dupes = sorted(v for v, n in Counter(versions).items() if n > 1)
    if dupes:
        problems.append(Problem("log", f"versions stored more than once: {_ranges(dupes)}"))
    first = versions[0] if versions else head
    present = set(versions)
    missing = [v for v in range(first, head) if v not in present]
    if missing:
        problems.append(Problem("log", f"versions missing from the log: {_ranges(missing)}"))
    last = versions[-1] + 1 if versions else head
    if last != head:
        problems.append(Problem("head", f"head_version is {head} but the log ends at {last}"))
    return problems, first


def _first_bad_op(document: Any, ops: list[tuple[int, Any]]) -> str:
    for version, op in ops:
        try:
            document = replay(document, [op], first_version=version)
        except ReplayFailed as exc:
            return f"op {version} does not apply: {exc.message}"
    return "ops do not apply together"


async def verify_dashboard(
    pool: asyncpg.Pool, dashboard_id: DashboardId, *, progress: Progress | None = None
) -> Verdict:
    with translated():
        async with pool.acquire() as conn:
            return await _verify(conn, dashboard_id, progress)


async def _verify(
    conn: asyncpg.Connection, dashboard_id: DashboardId, progress: Progress | None
) -> Verdict:
    head = await conn.fetchval("SELECT head_version FROM dashboards WHERE id = $1", dashboard_id)
    if head is None:
        raise NotFound(f"dashboard {dashboard_id} not found")
    versions = [
        int(v)
        for (v,) in await conn.fetch(
            "SELECT version FROM operations WHERE dashboard_id = $1 ORDER BY version",
            dashboard_id,
        )
    ]
    problems, first = _log_problems(versions, head)
    points = [
        int(v)
        for (v,) in await conn.fetch(
            "SELECT version FROM checkpoints WHERE dashboard_id = $1 ORDER BY version",
            dashboard_id,
        )
    ]
    if any(p > head for p in points):
        problems.append(Problem("checkpoint", f"checkpoints beyond the head {head}"))

    async def checkpoint(version: int) -> Any:
        return await conn.fetchval(
            "SELECT document FROM checkpoints WHERE dashboard_id = $1 AND version = $2",
            dashboard_id,
            version,
        )

    # Where replay starts: the create op when the log is whole, else the oldest checkpoint
    # inside the retained log (taken on trust: nothing older is left to check it against).
    document: Any = None
    if first == 0:
        create = await conn.fetchval(
            "SELECT operation FROM operations WHERE dashboard_id = $1 AND version = 0",
            dashboard_id,
        )
        if not is_create_record(create):
            problems.append(Problem("create", "the op at version 0 is not a create"))
            return Verdict(dashboard_id, head, 0, 0, len(points), tuple(problems))
        document, start = created_document(create), 1
    else:
        start = next((p for p in points if p >= first), head + 1)
        if start > head:
            problems.append(Problem("replay", f"no checkpoint inside the retained log ({first}..)"))
            return Verdict(dashboard_id, head, 0, 0, len(points), tuple(problems))
        document = await checkpoint(start)
    unverified = sum(1 for p in points if p < start or (first != 0 and p == start))
    verified = 0
    if first == 0 and start in points:
        if await checkpoint(start) == document:
            verified += 1
        else:
            problems.append(Problem("checkpoint", f"checkpoint {start} differs from the create op"))
    version = start
    for stop in sorted({p for p in points if start < p <= head} | {head}):
        while version < stop:
            end = min(version + CHUNK, stop)
            rows = await conn.fetch(sql.OPS_FOR_REPLAY, dashboard_id, version, end)
            ops = [(int(r["version"]), as_json0(r["operation"])) for r in rows]
            if [v for v, _ in ops] != list(range(version, end)):
                problems.append(Problem("replay", f"replay stopped at version {version}: log gap"))
                return Verdict(
                    dashboard_id, head, version - start, verified, unverified, tuple(problems)
                )
            try:
                document = replay(document, [op for _, op in ops], first_version=version)
            except ReplayFailed:
                problems.append(Problem("replay", _first_bad_op(document, ops)))
                return Verdict(
                    dashboard_id, head, version - start, verified, unverified, tuple(problems)
                )
            version = end
            if progress is not None:
                progress(version - start, head - start)
        if stop in points:
            if await checkpoint(stop) == document:
                verified += 1
            else:
                problems.append(Problem("checkpoint", f"checkpoint {stop} differs from the log"))
    rows = await conn.fetch(
        "SELECT widget_id, type, title, position, config FROM widgets"
        " WHERE dashboard_id = $1 ORDER BY widget_id",
        dashboard_id,
    )
    if [WidgetRow(*r) for r in rows] != widget_rows(document):
        problems.append(Problem("projection", "widgets rows differ from the head document"))
    return Verdict(dashboard_id, head, version - start, verified, unverified, tuple(problems))


async def dashboard_ids(pool: asyncpg.Pool) -> list[DashboardId]:
    with translated():
        rows = await pool.fetch("SELECT id FROM dashboards ORDER BY created_at, id")
    return [DashboardId(r["id"]) for r in rows]


async def stale_dashboards(pool: asyncpg.Pool) -> list[DashboardId]:
    """Dashboards whose head has moved past their newest checkpoint."""
    with translated():
        rows = await pool.fetch(
            "SELECT d.id FROM dashboards d WHERE d.head_version > coalesce("
            " (SELECT max(version) FROM checkpoints c WHERE c.dashboard_id = d.id), 0)"
            " ORDER BY d.id"
        )
    return [DashboardId(r["id"]) for r in rows]
