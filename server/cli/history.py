"""History commands: ``export``, ``import`` and ``compact``.

``tandem export DASHBOARD [--out FILE]`` writes the dashboard's export file (credentials
redacted, the count on stderr); ``tandem import FILE [--owner USER]`` validates a file whole
and creates a new dashboard from it, or nothing (USER is an id, a username or an email; when
omitted, the only user there is); ``tandem compact [--older-than DAYS] [--dry-run]`` drops the
log's partitions older than DAYS that no dashboard needs (see :mod:`server.store.compact`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from uuid import UUID

import orjson

from server.cli import EXIT_OK, EXIT_PROBLEM, parse_dashboard_id
from server.cli.context import emit, run
from server.core.errors import BadRequest, NotFound
from server.core.ids import UserId
from server.core.settings import Settings
from server.history.transfer import export_dashboard, import_dashboard
from server.store.accounts import Accounts
from server.store.compact import DEFAULT_DAYS, compact
from server.store.postgres import PostgresStore


async def _open(settings: Settings) -> PostgresStore:
    assert settings.database_url is not None
    return await PostgresStore.open(
        settings.database_url,
        checkpoint_interval=settings.checkpoint_interval,
        min_size=1,
        max_size=2,
    )


async def _owner(store: PostgresStore, login: str | None) -> UserId:
    accounts = Accounts(store.pool)
    if login is None:
        ids = await store.pool.fetch("SELECT id FROM users WHERE is_active LIMIT 2")
        if len(ids) != 1:
            raise BadRequest("give --owner USER (an id, a username or an email)")
        return UserId(ids[0]["id"])
    try:
        return (await accounts.get_user(UserId(UUID(login)))).id
    except ValueError:
        pass
    user = await accounts.find_user(login)
    if user is None:
        raise NotFound(f"no user {login!r}")
    return user.id


def _export(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        store = await _open(settings)
        try:
            file = await export_dashboard(store, args.dashboard)
        finally:
            await store.close()
        data = orjson.dumps(file, option=orjson.OPT_INDENT_2) + b"\n"
        if args.out is None:
            sys.stdout.write(data.decode())
        else:
            args.out.write_bytes(data)
        print(f"exported {args.dashboard}: {file['redacted']} value(s) redacted", file=sys.stderr)
        return EXIT_OK

    return run(args, work)


def _import(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        try:
            raw = args.file.read_bytes()
        except OSError as exc:
            raise BadRequest(f"cannot read {args.file}: {exc.strerror}") from exc
        store = await _open(settings)
        try:
            owner = await _owner(store, args.owner)
            result = await import_dashboard(store, raw, owner_id=owner)
        finally:
            await store.close()
        dropped = ["/".join(str(p) for p in path) for path in result.dropped]
        text = str(result.dashboard_id) + "".join(f"\ndropped {p}" for p in dropped)
        emit(args, {"id": str(result.dashboard_id), "dropped_fields": dropped}, text)
        return EXIT_OK

    return run(args, work)


def _compact(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        store = await _open(settings)
        try:
            report = await compact(store, older_than_days=args.older_than, dry_run=args.dry_run)
        finally:
            await store.close()
        verb = "would drop" if report.dry_run else "dropped"
        lines = [f"checkpointed {d}" for d in report.checkpointed]
        lines += [f"{verb} {name}" for name in report.dropped]
        lines += [f"kept {n}: {why}" for n, why in zip(report.kept, report.reasons, strict=True)]
        lines.append(
            f"{verb} {report.ops_dropped} op(s) older than {report.cutoff:%Y-%m-%d};"
            f" {report.checkpoints_pruned} unnamed checkpoint(s) pruned"
        )
        data = {
            "dry_run": report.dry_run,
            "cutoff": report.cutoff.isoformat(),
            "checkpointed": [str(d) for d in report.checkpointed],
            "dropped": list(report.dropped),
            "kept": list(report.kept),
            "ops_dropped": report.ops_dropped,
            "checkpoints_pruned": report.checkpoints_pruned,
        }
        emit(args, data, "\n".join(lines))
        return EXIT_PROBLEM if report.kept else EXIT_OK

    return run(args, work)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("export", parents=[common], help="a dashboard as a file (redacted)")
    p.add_argument("dashboard", type=parse_dashboard_id, metavar="DASHBOARD")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    p.set_defaults(handler=_export)

    p = sub.add_parser("import", parents=[common], help="a new dashboard from an export file")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--owner", metavar="USER", help="id, username or email of the new owner")
    p.set_defaults(handler=_import)

    p = sub.add_parser("compact", parents=[common], help="drop old ops no one needs")
    p.add_argument(
        "--older-than", type=int, default=DEFAULT_DAYS, metavar="DAYS",
        help=f"drop partitions older than this (default {DEFAULT_DAYS})",
    )  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="only say what would go")
    p.set_defaults(handler=_compact)
