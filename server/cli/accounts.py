"""The account commands: ``user create|deactivate``, ``token issue|revoke``, ``dashboard
create|share``.

Tokens are printed once and stored only as their SHA-256; passwords are stored as Argon2id.
Commands that take access away (``token revoke``, ``user deactivate``) or change a role
(``dashboard share``) announce the change to every gateway
(:func:`server.access.changes.announce`), so open connections are re-checked at once; if
Redis cannot be reached the gateways' periodic sweep finds the change within a second anyway.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from redis.exceptions import RedisError

from ot.dashboard.document import new_document
from server.access.changes import AccessChange, announce
from server.cli import EXIT_OK, parse_dashboard_id, parse_user_id
from server.cli.context import emit, run
from server.core.errors import NotFound
from server.core.settings import Settings
from server.gateway.auth import hash_password, issue_token, token_hash
from server.redis.clients import open_redis
from server.redis.keys import Keys
from server.store.access import Access
from server.store.accounts import Accounts
from server.store.audit import AuditLog
from server.store.pool import open_pool
from server.store.postgres import PostgresStore

MAX_TOKEN_DAYS = 3650


def _days(text: str) -> int:
    """argparse type for a token's validity: a whole number of days, 1 to 3650."""
    try:
        days = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from exc
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise argparse.ArgumentTypeError(f"--days must be between 1 and {MAX_TOKEN_DAYS}")
    return days


async def _announce(settings: Settings, change: AccessChange, tokens: Sequence[bytes] = ()) -> bool:
    """Forget the cached entries it makes stale and tell the gateways; False (with a warning)
    when Redis cannot be reached."""
    assert settings.redis_url is not None
    redis = open_redis(settings, settings.redis_url, max_connections=2)
    try:
        await announce(redis, Keys(settings.redis_prefix), change, tokens=tokens)
        return True
    except (RedisError, OSError) as exc:
        print(
            f"tandem: could not announce the change ({type(exc).__name__}); open connections"
            " will see it at the gateways' next sweep",
            file=sys.stderr,
        )
        return False
    finally:
        await redis.aclose()


def _user_create(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        assert settings.database_url is not None
        pool = await open_pool(settings.database_url, min_size=1, max_size=2)
        try:
            password = hash_password(args.password) if args.password else None
            user_id = await Accounts(pool).create_user(args.email, args.username, password)
            await AuditLog(pool).write_audit("user.created", user_id, details={"via": "cli"})
        finally:
            await pool.close()
        emit(
            args,
            {"id": str(user_id), "email": args.email, "username": args.username},
            f"created user {args.username} ({user_id})",
        )
        return EXIT_OK

    return run(args, work)


def _token_issue(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        assert settings.database_url is not None
        pool = await open_pool(settings.database_url, min_size=1, max_size=2)
        try:
            accounts = Accounts(pool)
            await accounts.get_user(args.user)  # NotFound: exit 4
            token = await issue_token(accounts, args.user, timedelta(days=args.days))
            await AuditLog(pool).write_audit("token.issued", args.user, details={"via": "cli"})
        finally:
            await pool.close()
        emit(args, {"user": str(args.user), "token": token, "days": args.days}, token)
        return EXIT_OK

    return run(args, work)


def _dashboard_create(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        assert settings.database_url is not None
        store = await PostgresStore.open(settings.database_url, min_size=1, max_size=2)
        try:
            await Accounts(store.pool).get_user(args.owner)
            head = await store.create_dashboard(
                owner_id=args.owner, title=args.title, document=new_document(args.title)
            )
            await AuditLog(store.pool).write_audit(
                "dashboard.created", args.owner, head.dashboard_id, {"via": "cli"}
            )
        finally:
            await store.close()
        # The owner's open lists (live queries) show it at once.
        await _announce(settings, AccessChange("role", str(args.owner), head.dashboard_id))
        emit(
            args,
            {"id": str(head.dashboard_id), "owner": str(args.owner), "title": args.title},
            str(head.dashboard_id),
        )
        return EXIT_OK

    return run(args, work, redis=True)


def _dashboard_share(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        assert settings.database_url is not None
        store = await PostgresStore.open(settings.database_url, min_size=1, max_size=2)
        try:
            await store.get_head(args.dashboard)
            await Accounts(store.pool).get_user(args.user)
            await Access(store.pool).add_collaborator(args.dashboard, args.user, args.role)
            await AuditLog(store.pool).write_audit(
                "collaborator.added",
                args.user,
                args.dashboard,
                {"role": args.role, "via": "cli"},
            )
        finally:
            await store.close()
        await _announce(settings, AccessChange("role", str(args.user), args.dashboard))
        data = {"dashboard": str(args.dashboard), "user": str(args.user), "role": args.role}
        emit(args, data, f"{args.user} is now {args.role} of {args.dashboard}")
        return EXIT_OK

    return run(args, work, redis=True)


def _token_revoke(args: argparse.Namespace) -> int:
    secret = sys.stdin.readline().strip() if args.token == "-" else args.token

    async def work(settings: Settings) -> int:
        assert settings.database_url is not None
        pool = await open_pool(settings.database_url, min_size=1, max_size=2)
        try:
            accounts = Accounts(pool)
            if args.user is not None:
                await accounts.get_user(args.user)  # NotFound: exit 4
                revoked = await accounts.revoke_sessions(args.user)
                change = AccessChange("user", str(args.user))
                tokens = await accounts.token_hashes(args.user)
                user = args.user
            else:
                session = await accounts.revoke_session(token_hash(secret))
                if session is None:
                    raise NotFound("no live session has that token")
                revoked, change, user = 1, AccessChange("session", str(session)), None
                tokens = [token_hash(secret)]
            await AuditLog(pool).write_audit(
                "token.revoked", user, details={"via": "cli", "sessions": revoked}
            )
        finally:
            await pool.close()
        await _announce(settings, change, tokens)
        emit(args, {"revoked": revoked}, f"revoked {revoked} session(s)")
        return EXIT_OK

    return run(args, work, redis=True)


def _user_deactivate(args: argparse.Namespace) -> int:
    async def work(settings: Settings) -> int:
        assert settings.database_url is not None
        pool = await open_pool(settings.database_url, min_size=1, max_size=2)
        try:
            accounts = Accounts(pool)
            changed = await accounts.deactivate_user(args.user)  # NotFound: exit 4
            tokens = await accounts.token_hashes(args.user)
            if changed:
                await AuditLog(pool).write_audit(
                    "user.deactivated", args.user, details={"via": "cli"}
                )
        finally:
            await pool.close()
        await _announce(settings, AccessChange("user", str(args.user)), tokens)
        state = "deactivated" if changed else "already inactive"
        emit(args, {"user": str(args.user), "deactivated": changed}, f"{args.user}: {state}")
        return EXIT_OK

    return run(args, work, redis=True)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = user.add_parser("create", help="create a user")
    p.add_argument("--email", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", help="stored as an Argon2id hash; omit for token-only users")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_user_create)
    p = user.add_parser("deactivate", help="deactivate a user (their connections close at once)")
    p.add_argument("--user", required=True, type=parse_user_id, help="user id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_user_deactivate)

    token = sub.add_parser("token", help="manage session tokens").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = token.add_parser("issue", help="print a new session token for a user")
    p.add_argument("--user", required=True, type=parse_user_id, help="user id")
    p.add_argument(
        "--days", type=_days, default=30, help="validity in days, 1 to 3650 (default 30)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_token_issue)
    p = token.add_parser("revoke", help="revoke a session token (open connections close at once)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", help="the token; '-' reads it from standard input")
    which.add_argument("--user", type=parse_user_id, help="revoke every session of this user")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_token_revoke)

    dashboard = sub.add_parser("dashboard", help="manage dashboards").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = dashboard.add_parser("create", help="create an empty dashboard")
    p.add_argument("--owner", required=True, type=parse_user_id, help="owner's user id")
    p.add_argument("--title", required=True)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_dashboard_create)
    p = dashboard.add_parser("share", help="give a user a role on a dashboard")
    p.add_argument("--dashboard", required=True, type=parse_dashboard_id, help="dashboard id")
    p.add_argument("--user", required=True, type=parse_user_id, help="user id")
    p.add_argument("--role", required=True, choices=("viewer", "editor", "admin"))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_dashboard_share)
