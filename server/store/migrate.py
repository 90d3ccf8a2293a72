"""Forward-only schema migrations: numbered SQL files applied in order, each recorded once.

``sql/NNNN_name.sql`` files are applied in version order, each in its own transaction, and
recorded in ``schema_migrations`` with the SHA-256 of the file and how long it took. A file whose
checksum differs from the recorded one is refused (never re-run), so an edited migration cannot
silently diverge between databases. A session-level advisory lock serialises runners: when
several servers start at once, one applies and the others then find nothing to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from server.core.errors import MigrationError
from server.store.partitions import ensure_partitions
from server.store.pool import connection, translated

# Any constant will do; it only has to be the same in every Tandem process.
MIGRATION_LOCK_KEY = 0x74616E64656D  # "tandem"
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version           integer PRIMARY KEY,
    name              text NOT NULL,
    checksum          text NOT NULL,
    execution_time_ms integer NOT NULL,
    applied_at        timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class MigrationReport:
    applied: tuple[Migration, ...]
    already: int
    # Versions recorded in the database that no file here describes (a newer release ran).
    unknown: tuple[int, ...]


def default_sql_dir() -> Path:
    """``TANDEM_SQL_DIR`` if set, else ``sql/`` at the root of the (editable) checkout."""
    override = os.environ.get("TANDEM_SQL_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "sql"


def discover(sql_dir: Path) -> list[Migration]:
    if not sql_dir.is_dir():
        raise MigrationError(f"migrations directory {sql_dir} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path.name}: version {version} is also used by {found[version].filename}"
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        found[version] = Migration(version, match.group(2), path, digest)
    return [found[v] for v in sorted(found)]


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    started = time.perf_counter()
    try:
        async with conn.transaction():
            await conn.execute(migration.path.read_text(encoding="utf-8"))
            elapsed_ms = round((time.perf_counter() - started) * 1000)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, execution_time_ms)"
                " VALUES ($1, $2, $3, $4)",
                migration.version,
                migration.name,
                migration.checksum,
                elapsed_ms,
            )
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"{migration.filename} failed: {exc}") from exc


async def run_migrations(conn: asyncpg.Connection, sql_dir: Path | None = None) -> MigrationReport:
    """Apply every pending migration on ``conn``; a no-op when the schema is current."""
    migrations = discover(sql_dir or default_sql_dir())
    with translated():
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        with translated():
            await conn.execute(BOOTSTRAP)
            rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        recorded = {int(r["version"]): str(r["checksum"]) for r in rows}
        for migration in migrations:
            checksum = recorded.get(migration.version)
            if checksum is not None and checksum != migration.checksum:
                raise MigrationError(
                    f"{migration.filename} was changed after it was applied"
                    f" (recorded sha256 {checksum[:12]}, file {migration.checksum[:12]});"
                    " add a new migration instead of editing an applied one"
                )
        pending = [m for m in migrations if m.version not in recorded]
        for migration in pending:
            await _apply(conn, migration)
        known = {m.version for m in migrations}
        return MigrationReport(
            applied=tuple(pending),
            already=len(migrations) - len(pending),
            unknown=tuple(sorted(v for v in recorded if v not in known)),
        )
    finally:
        # A lost connection has released the lock by itself; keep the original error.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def migrate(dsn: str, sql_dir: Path | None = None) -> MigrationReport:
    async with connection(dsn) as conn:
        return await run_migrations(conn, sql_dir)


@dataclass(frozen=True)
class Preparation:
    migrations: MigrationReport | None  # None: migrations were not run
    partitions_created: tuple[str, ...]


async def prepare(dsn: str, *, run: bool = True, sql_dir: Path | None = None) -> Preparation:
    """What a server does at start: apply pending migrations (unless ``run`` is false, as with
    ``TANDEM_MIGRATE_ON_START=0``), then create the partitions for the months ahead."""
    async with connection(dsn) as conn:
        report = await run_migrations(conn, sql_dir) if run else None
        created = await ensure_partitions(conn)
    return Preparation(report, tuple(created))
