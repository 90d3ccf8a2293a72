"""Monthly partitions of ``operations`` and ``audit_logs``: create ahead, report, drop old.

Partitions are named ``{table}_pYYYYMM`` and cover one UTC calendar month. Each table also has a
DEFAULT partition so a write never fails for want of a partition; rows found there are reported
by :func:`partition_status` and moved into proper monthly partitions by :func:`ensure_partitions`.

Dropping follows the retention rule of the log: a partition of ``operations`` may go only when
every dashboard with ops in it has a checkpoint above the newest of those ops, so every dashboard
can still be loaded at its head (and at every version from that checkpoint on). Partitions are
dropped oldest first and never past the first one that must stay, so the retained log of each
dashboard is never left with a hole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from server.core.errors import BadRequest
from server.core.ids import DashboardId
from server.store.pool import API_ROLE, translated

# table -> the column it is partitioned on
PARTITIONED = {"operations": "created_at", "audit_logs": "at"}
MONTHS_AHEAD = 3
# Held (per transaction) while partitions are created or dropped, so two servers starting at
# once do not race to create the same table.
PARTITION_LOCK_KEY = 0x74616E64656E  # distinct from the migration lock
BOUND = re.compile(r"FROM \('([^']*)'\) TO \('([^']*)'\)")


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    lower: datetime | None  # None: the DEFAULT partition
    upper: datetime | None
    rows: int = 0

    @property
    def is_default(self) -> bool:
        return self.lower is None


@dataclass(frozen=True)
class Blocked:
    partition: str
    reason: str
    dashboards: tuple[DashboardId, ...] = ()


@dataclass(frozen=True)
class DropReport:
    dropped: tuple[str, ...]
    blocked: tuple[Blocked, ...]
    dry_run: bool


def month_start(moment: datetime | date) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_p{start.year:04d}{start.month:02d}"


def parse_month(text: str) -> datetime:
    """``YYYY-MM`` -> the first instant of that UTC month; BadRequest otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise BadRequest(f"{text!r} is not a month (YYYY-MM)")
    return datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)


async def list_partitions(conn: asyncpg.Connection, table: str) -> list[Partition]:
    """The partitions of ``table``, monthly ones by lower bound, the default one last."""
    rows = await conn.fetch(
        "SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass",
        table,
    )
    found: list[Partition] = []
    for row in rows:
        bound = str(row["bound"])
        match = BOUND.search(bound)
        if bound == "DEFAULT" or match is None:
            found.append(Partition(table, str(row["name"]), None, None))
        else:
            lower, upper = (datetime.fromisoformat(g) for g in match.groups())
            found.append(Partition(table, str(row["name"]), lower, upper))
    return sorted(
        found, key=lambda p: (p.lower is None, p.lower or datetime.min.replace(tzinfo=UTC))
    )


def _covered(partitions: list[Partition], start: datetime) -> bool:
    return any(
        p.lower is not None and p.upper is not None and p.lower <= start < p.upper
        for p in partitions
    )


async def _create_month(conn: asyncpg.Connection, table: str, start: datetime) -> None:
    """Create the partition for the month at ``start``, first moving any of its rows out of the
    default partition (PostgreSQL refuses a new partition whose rows sit in the default one)."""
    column = PARTITIONED[table]
    name = partition_name(table, start)
    end = add_months(start, 1)
    default = f"{table}_default"
    await conn.execute(
        f"CREATE TEMP TABLE moving AS SELECT * FROM {default}"
        f" WHERE {column} >= $1 AND {column} < $2",
        start,
        end,
    )
    await conn.execute(f"DELETE FROM {default} WHERE {column} >= $1 AND {column} < $2", start, end)
    # Bounds are our own UTC datetimes rendered as literals: DDL takes no parameters.
    await conn.execute(
        f"CREATE TABLE {name} PARTITION OF {table}"
        f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    # Read by its own name, a partition skips its parent's row-level security: the API's
    # role reaches the rows only through the parent.
    await conn.execute(f"REVOKE ALL ON {name} FROM {API_ROLE}")
    await conn.execute(f"INSERT INTO {table} SELECT * FROM moving")
    await conn.execute("DROP TABLE moving")


async def ensure_partitions(
    conn: asyncpg.Connection, *, now: datetime | None = None, months_ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Create the partitions for this month and the next ``months_ahead``, and for every month
    that has rows in a default partition. Returns the names created (empty when all existed)."""
    first = month_start(now or datetime.now(UTC))
    created: list[str] = []
    with translated():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK_KEY)
            for table, column in PARTITIONED.items():
                existing = await list_partitions(conn, table)
                stray = await conn.fetch(
                    f"SELECT DISTINCT date_trunc('month', {column}, 'UTC') AS month"
                    f" FROM {table}_default"
                )
                wanted = {add_months(first, i) for i in range(months_ahead + 1)}
                wanted |= {month_start(r["month"].astimezone(UTC)) for r in stray}
                for start in sorted(wanted):
                    if not _covered(existing, start):
                        await _create_month(conn, table, start)
                        created.append(partition_name(table, start))
    return created


async def partition_status(conn: asyncpg.Connection) -> list[Partition]:
    """Every partition of the partitioned tables with its exact row count."""
    result: list[Partition] = []
    with translated():
        for table in PARTITIONED:
            for p in await list_partitions(conn, table):
                rows = int(await conn.fetchval(f"SELECT count(*) FROM {p.name}"))
                result.append(Partition(p.table, p.name, p.lower, p.upper, rows))
    return result


async def _uncovered_dashboards(conn: asyncpg.Connection, name: str) -> list[DashboardId]:
    """Dashboards with ops in partition ``name`` and no checkpoint above the newest of them."""
    rows = await conn.fetch(
        f"SELECT p.dashboard_id FROM (SELECT dashboard_id, max(version) AS top FROM {name}"
        "  GROUP BY dashboard_id) p"
        " WHERE NOT EXISTS (SELECT 1 FROM checkpoints c"
        "  WHERE c.dashboard_id = p.dashboard_id AND c.version > p.top)"
        " ORDER BY p.dashboard_id"
    )
    return [DashboardId(r["dashboard_id"]) for r in rows]


async def drop_partitions(
    conn: asyncpg.Connection,
    *,
    before: datetime,
    dry_run: bool = False,
    now: datetime | None = None,
) -> DropReport:
    """Drop the ``operations`` partitions that end at or before ``before`` (and before the current
    month) and whose ops every dashboard can do without. ``dry_run`` only reports."""
    limit = min(month_start(before), month_start(now or datetime.now(UTC)))
    dropped: list[str] = []
    blocked: list[Blocked] = []
    with translated():
        candidates = [
            p
            for p in await list_partitions(conn, "operations")
            if p.upper is not None and p.upper <= limit
        ]
        for index, part in enumerate(candidates):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK_KEY)
                if not dry_run:
                    # Nothing may write into the partition between the check and the drop.
                    await conn.execute(f"LOCK TABLE {part.name} IN ACCESS EXCLUSIVE MODE")
                uncovered = await _uncovered_dashboards(conn, part.name)
                if uncovered:
                    blocked.append(
                        Blocked(
                            part.name,
                            "dashboards without a checkpoint above their ops in it"
                            " (run `tandem checkpoint --all-stale`)",
                            tuple(uncovered),
                        )
                    )
                    blocked.extend(
                        Blocked(later.name, f"{part.name}, older, must stay")
                        for later in candidates[index + 1 :]
                    )
                    break
                if not dry_run:
                    await conn.execute(f"DROP TABLE {part.name}")
                dropped.append(part.name)
    return DropReport(tuple(dropped), tuple(blocked), dry_run)
