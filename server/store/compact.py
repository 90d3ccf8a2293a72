"""Keeping the log bounded: :func:`compact`.

Compaction drops whole monthly partitions of ``operations`` older than a cut-off, with the
partition tooling (:func:`server.store.partitions.drop_partitions`), after making sure nothing
it drops is needed:

1. every dashboard with ops in a partition that would go gets a checkpoint of its head when it
   has none above those ops, so it still loads at its head and every later version;
2. the partitions are dropped oldest first (the tooling refuses to leave a hole);
3. unnamed checkpoints below what remains of a dashboard's log are deleted, except the newest
   :data:`KEEP_LATEST` of each dashboard; named versions are never deleted, and still load
   (a checkpoint is a whole document).

A client whose version lies below what remains is told ``version_unavailable`` by the log
(:class:`server.store.history.VersionUnavailable`) and refetches; it never gets a wrong
document. ``tandem verify`` replays what remains from its oldest checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.core.errors import BadRequest
from server.core.ids import DashboardId
from server.store.partitions import drop_partitions, list_partitions, month_start
from server.store.pool import translated
from server.store.postgres import PostgresStore

KEEP_LATEST = 2
DEFAULT_DAYS = 90

# Dashboards with ops in the partition and no checkpoint above the newest of them.
UNCOVERED = """
SELECT p.dashboard_id FROM (SELECT dashboard_id, max(version) AS top FROM {name}
                             GROUP BY dashboard_id) p
 WHERE NOT EXISTS (SELECT 1 FROM checkpoints c
                    WHERE c.dashboard_id = p.dashboard_id AND c.version > p.top)
"""

# Unnamed checkpoints below the retained log, but each dashboard's newest KEEP_LATEST.
PRUNE = """
WITH ranked AS (
    SELECT c.id, c.dashboard_id, c.version, c.is_major,
           row_number() OVER (PARTITION BY c.dashboard_id ORDER BY c.version DESC) AS rank
      FROM checkpoints c
), oldest AS (
    SELECT d.id AS dashboard_id,
           (SELECT min(version) FROM operations o WHERE o.dashboard_id = d.id) AS first_op
      FROM dashboards d
), doomed AS (
    SELECT r.id FROM ranked r JOIN oldest o ON o.dashboard_id = r.dashboard_id
      WHERE NOT r.is_major AND r.rank > $1 AND r.version < coalesce(o.first_op, r.version + 1)
)
DELETE FROM checkpoints WHERE id IN (SELECT id FROM doomed) RETURNING id
"""


@dataclass(frozen=True)
class CompactReport:
    cutoff: datetime
    dry_run: bool
    checkpointed: tuple[DashboardId, ...]
    dropped: tuple[str, ...]
    kept: tuple[str, ...]  # partitions that had to stay, with why in ``reasons``
    reasons: tuple[str, ...]
    ops_dropped: int
    checkpoints_pruned: int


async def compact(
    store: PostgresStore,
    *,
    older_than_days: int = DEFAULT_DAYS,
    dry_run: bool = False,
    now: datetime | None = None,
) -> CompactReport:
    """Drop the log's partitions that end ``older_than_days`` ago or earlier (see the module
    docstring). ``dry_run`` changes nothing and says what would happen."""
    if older_than_days < 0:
        raise BadRequest("--older-than is a number of days, 0 or more")
    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(days=older_than_days)
    limit = min(month_start(cutoff), month_start(moment))
    pool = store.pool
    with translated():
        async with pool.acquire() as conn:
            parts = [
                p for p in await list_partitions(conn, "operations")
                if p.upper is not None and p.upper <= limit
            ]  # fmt: skip
            uncovered: set[DashboardId] = set()
            counts: dict[str, int] = {}
            for part in parts:
                rows = await conn.fetch(UNCOVERED.format(name=part.name))
                uncovered |= {DashboardId(r["dashboard_id"]) for r in rows}
                counts[part.name] = int(await conn.fetchval(f"SELECT count(*) FROM {part.name}"))
    checkpointed = tuple(sorted(uncovered, key=str))
    if dry_run:
        # Once those dashboards are checkpointed, nothing else can hold a partition back.
        return CompactReport(
            cutoff, True, checkpointed, tuple(counts), (), (), sum(counts.values()), 0
        )
    for dashboard_id in checkpointed:
        await store.create_checkpoint(dashboard_id)
    with translated():
        async with pool.acquire() as conn:
            report = await drop_partitions(conn, before=limit, now=moment)
            pruned = await conn.fetch(PRUNE, KEEP_LATEST)
    return CompactReport(
        cutoff=cutoff,
        dry_run=False,
        checkpointed=checkpointed,
        dropped=report.dropped,
        kept=tuple(b.partition for b in report.blocked),
        reasons=tuple(b.reason for b in report.blocked),
        ops_dropped=sum(counts.get(name, 0) for name in report.dropped),
        checkpoints_pruned=len(pruned),
    )
