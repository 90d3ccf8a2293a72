"""Operator commands: migrate, partitions, checkpoint, replay, verify.

They talk to PostgreSQL only: ``DATABASE_URL`` when set, else the embedded server under
``TANDEM_HOME`` (the one ``tandem serve`` uses). Exit codes are those of :mod:`server.cli`:
0 done / all well, 1 a problem was found (a failed check, rows in a default partition, a
partition that must stay, a failed migration), 2 usage, 3 PostgreSQL unavailable, 4 not found.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import orjson

from server.cli import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    exit_code,
    parse_dashboard_id,
)
from server.core.codes import Code
from server.core.errors import BadRequest, StoreUnavailable, TandemError
from server.core.settings import Settings
from server.embedded import EmbeddedPostgres
from server.store.migrate import run_migrations
from server.store.partitions import (
    drop_partitions,
    ensure_partitions,
    parse_month,
    partition_status,
)
from server.store.pool import connection
from server.store.postgres import PostgresStore
from server.store.verify import Verdict, dashboard_ids, stale_dashboards, verify_dashboard

PROGRESS_THRESHOLD = 1000  # ops; shorter replays finish before a bar would help


class ProgressBar:
    """A plain-text bar on stderr, redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._width = width
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_THRESHOLD:
            return
        percent = done * 100 // total
        tty = self._stream.isatty()
        step = percent if tty else percent // 10 * 10
        if step == self._shown:
            return
        self._shown = step
        filled = self._width * done // total
        bar = "#" * filled + "-" * (self._width - filled)
        line = f"{self._label} [{bar}] {percent:3d}% {done}/{total} ops"
        end = "\n" if done >= total or not tty else ""
        self._stream.write(("\r" if tty else "") + line + end)
        self._stream.flush()


@contextlib.contextmanager
def _database() -> Iterator[str]:
    settings = Settings.from_env()
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.home.resolve() / "pg")
    try:
        url = embedded.start()
    except Exception as exc:
        raise StoreUnavailable(f"embedded PostgreSQL did not start: {exc}") from exc
    try:
        yield url
    finally:
        embedded.stop()


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        print(orjson.dumps(data, default=str).decode())
    elif text:
        print(text)


def _run(args: argparse.Namespace, work: Callable[[str], Coroutine[Any, Any, int]]) -> int:
    """Run ``work(database_url)`` and map failures to exit codes."""
    try:
        with _database() as url:
            return asyncio.run(work(url))
    except asyncpg.UndefinedTableError as exc:
        code, message, status = Code.SCHEMA_MISSING, f"{exc}: run `tandem migrate`", EXIT_PROBLEM
    except TandemError as exc:
        code, message = exc.code, exc.message
        status = exit_code(exc)
    if args.json:
        print(orjson.dumps({"error": {"code": code, "message": message}}).decode())
    print(f"tandem {args.command}: {message}", file=sys.stderr)
    return status


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _open(url: str) -> PostgresStore:
    settings = Settings.from_env()
    return await PostgresStore.open(
        url, checkpoint_interval=settings.checkpoint_interval, min_size=1, max_size=2
    )


def _migrate(args: argparse.Namespace) -> int:
    async def work(url: str) -> int:
        async with connection(url) as conn:
            report = await run_migrations(conn, args.sql_dir)
            created = await ensure_partitions(conn)
        lines = [f"applied {m.filename}" for m in report.applied]
        lines.append(f"schema current: {report.already + len(report.applied)} migration(s)")
        if report.unknown:
            lines.append(f"warning: the database has newer migrations {list(report.unknown)}")
        lines += [f"created partition {name}" for name in created]
        data = {
            "applied": [m.filename for m in report.applied],
            "already": report.already,
            "unknown": list(report.unknown),
            "partitions_created": created,
        }
        _emit(args, data, "\n".join(lines))
        return EXIT_OK

    return _run(args, work)


def _partitions(args: argparse.Namespace) -> int:
    async def work(url: str) -> int:
        async with connection(url) as conn:
            if args.action == "ensure":
                created = await ensure_partitions(conn)
                text = "\n".join(f"created {n}" for n in created) or "all partitions exist"
                _emit(args, {"created": created}, text)
                return EXIT_OK
            if args.action == "status":
                return _report_status(args, await partition_status(conn))
            if args.before is None:
                raise BadRequest("partitions drop needs --before YYYY-MM")
            report = await drop_partitions(
                conn, before=parse_month(args.before), dry_run=args.dry_run
            )
        verb = "would drop" if report.dry_run else "dropped"
        lines = [f"{verb} {name}" for name in report.dropped]
        for b in report.blocked:
            ids = ", ".join(str(d) for d in b.dashboards[:5])
            lines.append(f"kept {b.partition}: {b.reason}" + (f" [{ids}]" if ids else ""))
        data = {
            "dry_run": report.dry_run,
            "dropped": list(report.dropped),
            "blocked": [
                {"partition": b.partition, "reason": b.reason, "dashboards": b.dashboards}
                for b in report.blocked
            ],
        }
        _emit(args, data, "\n".join(lines) or "no partition ends before that month")
        return EXIT_PROBLEM if report.blocked else EXIT_OK

    return _run(args, work)


def _report_status(args: argparse.Namespace, parts: list[Any]) -> int:
    stray = [p for p in parts if p.is_default and p.rows]
    lines = []
    for p in parts:
        span = "DEFAULT" if p.is_default else f"{p.lower:%Y-%m-%d} .. {p.upper:%Y-%m-%d}"
        lines.append(f"{p.name:<28} {span:<26} {p.rows:>12} rows")
    lines += [
        f"warning: {p.rows} row(s) in {p.name}: run `tandem partitions ensure`" for p in stray
    ]
    data = {
        "partitions": [
            {"table": p.table, "name": p.name, "lower": p.lower, "upper": p.upper,
             "rows": p.rows, "default": p.is_default}
            for p in parts
        ],
        "rows_in_default": sum(p.rows for p in stray),
    }  # fmt: skip
    _emit(args, data, "\n".join(lines))
    return EXIT_PROBLEM if stray else EXIT_OK


def _checkpoint(args: argparse.Namespace) -> int:
    if (args.dashboard is None) == (not args.all_stale):
        print("tandem checkpoint: give a DASHBOARD or --all-stale", file=sys.stderr)
        return EXIT_USAGE

    async def work(url: str) -> int:
        store = await _open(url)
        try:
            targets = [args.dashboard] if args.dashboard else await stale_dashboards(store.pool)
            made = [
                await store.create_checkpoint(d, version=args.version, label=args.name)
                for d in targets
            ]
        finally:
            await store.close()
        lines = [
            f"checkpoint {c.dashboard_id} v{c.version}" + (f" {c.label!r}" if c.label else "")
            for c in made
        ]
        data = [
            {"dashboard_id": c.dashboard_id, "version": c.version, "is_major": c.is_major,
             "label": c.label}
            for c in made
        ]  # fmt: skip
        _emit(args, {"checkpoints": data}, "\n".join(lines) or "no stale dashboards")
        return EXIT_OK

    return _run(args, work)


def _replay(args: argparse.Namespace) -> int:
    async def work(url: str) -> int:
        store = await _open(url)
        try:
            snapshot = await store.load(
                args.dashboard,
                version=args.to_version,
                at=args.at,
                from_scratch=args.from_scratch,
                progress=ProgressBar(f"replay {args.dashboard}"),
            )
        finally:
            await store.close()
        document = orjson.dumps(snapshot.document, option=orjson.OPT_INDENT_2)
        summary = {
            "dashboard_id": str(snapshot.dashboard_id),
            "version": snapshot.version,
            "created_at": snapshot.created_at,
        }
        if args.out is not None:
            args.out.write_bytes(document + b"\n")
            _emit(args, summary, f"wrote version {snapshot.version} to {args.out}")
        elif args.json:
            _emit(args, {**summary, "document": snapshot.document}, "")
        else:
            sys.stdout.write(document.decode() + "\n")
            print(f"version {snapshot.version}", file=sys.stderr)
        return EXIT_OK

    return _run(args, work)


def _verdict_text(v: Verdict) -> str:
    if v.ok:
        return (
            f"ok {v.dashboard_id} head {v.head}: {v.ops_replayed} ops replayed,"
            f" {v.checkpoints_verified} checkpoint(s) match"
            + (
                f", {v.checkpoints_unverified} older than the log"
                if v.checkpoints_unverified
                else ""
            )
        )
    return "\n".join(f"FAIL {v.dashboard_id} {p.what}: {p.detail}" for p in v.problems)


def _verify(args: argparse.Namespace) -> int:
    if (args.dashboard is None) == (not args.all):
        print("tandem verify: give a DASHBOARD or --all", file=sys.stderr)
        return EXIT_USAGE

    async def work(url: str) -> int:
        store = await _open(url)
        try:
            targets = [args.dashboard] if args.dashboard else await dashboard_ids(store.pool)
            verdicts = []
            for d in targets:
                verdict = await verify_dashboard(store.pool, d, progress=ProgressBar(f"verify {d}"))
                verdicts.append(verdict)
                if not args.json:
                    print(_verdict_text(verdict), flush=True)
        finally:
            await store.close()
        bad = [v for v in verdicts if not v.ok]
        data = {
            "ok": not bad,
            "dashboards": [
                {"dashboard_id": v.dashboard_id, "head": v.head, "ok": v.ok,
                 "ops_replayed": v.ops_replayed, "checkpoints_verified": v.checkpoints_verified,
                 "problems": [{"what": p.what, "detail": p.detail} for p in v.problems]}
                for v in verdicts
            ],
        }  # fmt: skip
        _emit(args, data, f"{len(verdicts) - len(bad)} ok, {len(bad)} with problems")
        return EXIT_PROBLEM if bad else EXIT_OK

    return _run(args, work)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("migrate", parents=[common], help="apply pending schema migrations")
    p.add_argument("--sql-dir", type=Path, default=None, help="migrations directory")
    p.set_defaults(handler=_migrate)

    p = sub.add_parser("partitions", parents=[common], help="monthly partitions of the log")
    p.add_argument("action", choices=("ensure", "status", "drop"))
    p.add_argument("--before", metavar="YYYY-MM", help="drop: partitions ending by this month")
    p.add_argument("--dry-run", action="store_true", help="drop: only say what would go")
    p.set_defaults(handler=_partitions)

    p = sub.add_parser("checkpoint", parents=[common], help="write a checkpoint")
    p.add_argument("dashboard", nargs="?", type=parse_dashboard_id, metavar="DASHBOARD")
    p.add_argument("--name", help="label: a named (major) checkpoint users see as a version")
    p.add_argument("--version", type=int, help="version to checkpoint (default: the head)")
    p.add_argument("--all-stale", action="store_true", help="every dashboard past its last one")
    p.set_defaults(handler=_checkpoint)

    p = sub.add_parser("replay", parents=[common], help="rebuild a snapshot from the log")
    p.add_argument("dashboard", type=parse_dashboard_id, metavar="DASHBOARD")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--to-version", type=int, metavar="V")
    when.add_argument("--at", type=_timestamp, metavar="TIMESTAMP", help="ISO 8601, UTC if naive")
    p.add_argument("--from-scratch", action="store_true", help="ignore checkpoints")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the document here")
    p.set_defaults(handler=_replay)

    p = sub.add_parser("verify", parents=[common], help="check logs against checkpoints")
    p.add_argument("dashboard", nargs="?", type=parse_dashboard_id, metavar="DASHBOARD")
    p.add_argument("--all", action="store_true", help="every dashboard")
    p.set_defaults(handler=_verify)
