"""Migrations: from an empty database, idempotent, refusing edited files, safe in parallel."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from server.core.errors import MigrationError
from server.store.migrate import default_sql_dir, discover, migrate, prepare
from server.store.partitions import add_months, list_partitions, month_start, partition_name
from server.store.pool import connection

TABLES = {
    "users", "dashboards", "dashboard_collaborators", "widgets", "operations", "checkpoints",
    "sessions", "audit_logs", "schema_migrations", "share_links",
}  # fmt: skip


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " UNION SELECT relname FROM pg_class WHERE relkind = 'p'"
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


async def test_from_empty_then_rerun_is_a_no_op(empty_database: str) -> None:
    first = await migrate(empty_database)
    assert [m.filename for m in first.applied] == [m.filename for m in discover(default_sql_dir())]
    assert await _tables(empty_database) >= TABLES
    second = await migrate(empty_database)
    assert second.applied == ()
    assert second.already == len(first.applied)
    async with connection(empty_database) as conn:
        rows = await conn.fetch(
            "SELECT version, checksum, execution_time_ms FROM schema_migrations"
        )
    assert [(r["version"], r["checksum"]) for r in rows] == [
        (m.version, m.checksum) for m in first.applied
    ]
    assert all(r["execution_time_ms"] >= 0 for r in rows)


async def test_prepare_creates_partitions_ahead(empty_database: str) -> None:
    done = await prepare(empty_database)
    assert done.migrations is not None and done.migrations.applied
    this_month = month_start(datetime.now(UTC))
    expected = {partition_name("operations", add_months(this_month, i)) for i in range(4)}
    async with connection(empty_database) as conn:
        names = {p.name for p in await list_partitions(conn, "operations")}
        audit = {p.name for p in await list_partitions(conn, "audit_logs")}
    assert expected <= names
    assert "operations_default" in names and "audit_logs_default" in audit
    assert len(audit) == len(names)
    assert (await prepare(empty_database)).partitions_created == ()


def _next(name: str) -> str:
    """A file name numbered after the project's own migrations."""
    return f"{max(m.version for m in discover(default_sql_dir())) + 1:04d}_{name}.sql"


async def test_changed_applied_file_is_refused(empty_database: str, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(default_sql_dir(), sql)
    notes = _next("notes")
    (sql / notes).write_text("CREATE TABLE notes (id int PRIMARY KEY);\n")
    await migrate(empty_database, sql)
    (sql / notes).write_text("CREATE TABLE notes (id bigint PRIMARY KEY);\n")
    with pytest.raises(MigrationError, match=re.escape(notes)):
        await migrate(empty_database, sql)


async def test_failed_migration_names_its_file_and_is_not_recorded(
    empty_database: str, tmp_path: Path
) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(default_sql_dir(), sql)
    broken = _next("broken")
    (sql / broken).write_text("CREATE TABLE half (id int);\nSELECT * FROM nowhere;\n")
    with pytest.raises(MigrationError, match=re.escape(broken)):
        await migrate(empty_database, sql)
    assert "half" not in await _tables(empty_database)  # its transaction rolled back
    (sql / broken).write_text("CREATE TABLE half (id int);\n")
    assert [m.filename for m in (await migrate(empty_database, sql)).applied] == [broken]


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "2_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"2_oops\.sql"):
        discover(tmp_path)


async def test_concurrent_runners_apply_once(empty_database: str) -> None:
    reports = await asyncio.gather(*(migrate(empty_database) for _ in range(3)))
    assert sorted(len(r.applied) for r in reports) == [0, 0, len(discover(default_sql_dir()))]
    async with connection(empty_database) as conn:
        count = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    assert count == len(discover(default_sql_dir()))


async def test_big_values_are_compressed_with_lz4_where_the_server_has_it(
    empty_database: str,
) -> None:
    await prepare(empty_database)
    async with connection(empty_database) as conn:
        try:
            async with conn.transaction():
                await conn.execute("CREATE TEMP TABLE probe (v text COMPRESSION lz4)")
            has_lz4 = True
        except asyncpg.FeatureNotSupportedError:
            has_lz4 = False
        rows = await conn.fetch(
            "SELECT c.relname, a.attname, a.attcompression::text AS method FROM pg_attribute a"
            "  JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE (c.relname = 'checkpoints' AND a.attname = 'document')"
            "    OR (c.relname LIKE 'operations%' AND c.relkind IN ('r', 'p')"
            "        AND a.attname IN ('operation', 'inverse'))"
        )
    # Every partition: the ones there when the migration ran and the ones made after it.
    assert {r["relname"] for r in rows} >= {"checkpoints", "operations", "operations_default"}
    assert len({r["relname"] for r in rows}) >= 6
    expected = "l" if has_lz4 else ""
    assert {(r["relname"], r["attname"]): r["method"] for r in rows} == {
        (r["relname"], r["attname"]): expected for r in rows
    }
