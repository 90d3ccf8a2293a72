"""Who may do what on a dashboard: collaborators, roles and share links, in PostgreSQL.

The owner of a dashboard is its admin without a collaborator row. Share links are found by the
SHA-256 of their token, like sessions; a link's password is stored as an Argon2id hash made by
the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from server.core.errors import BadRequest
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.model import Role
from server.store.pool import translated

ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")
LINK_COLUMNS = (
    "id, dashboard_id, role, password_hash, expires_at, created_by, created_at, revoked_at"
)


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


@dataclass(frozen=True)
class Collaborator:
    user_id: UserId
    role: Role
    username: str
    display_name: str
    added_at: datetime


@dataclass(frozen=True)
class ShareLink:
    id: UUID
    dashboard_id: DashboardId
    role: Role
    password_hash: str | None = field(repr=False)
    expires_at: datetime | None
    created_by: UserId | None
    created_at: datetime
    revoked_at: datetime | None


def _link(row: asyncpg.Record) -> ShareLink:
    return ShareLink(
        id=row["id"],
        dashboard_id=DashboardId(row["dashboard_id"]),
        role=check_role(row["role"]),
        password_hash=row["password_hash"],
        expires_at=row["expires_at"],
        created_by=None if row["created_by"] is None else UserId(row["created_by"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


@dataclass(frozen=True)
class Validity:
    live_sessions: frozenset[UUID]
    roles: dict[tuple[DashboardId, UserId], Role | None]


# A guest session (sql/0002_api.sql) lives while it and its share link are neither expired nor
# revoked and its dashboard is not archived.
_LIVE_GUEST = """
g.revoked_at IS NULL AND g.expires_at > now()
AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > now())
"""
# The owner of a dashboard is its admin; anyone else has their collaborator row's role; a guest
# session's id has its link's role on its dashboard; anyone may view a public dashboard. Guest
# sessions count as sessions (their id is the session id and the user id).
_VALIDITY = f"""
SELECT s.id AS session_id, NULL::uuid AS dashboard_id, NULL::uuid AS user_id, NULL::text AS role
  FROM sessions s JOIN users u ON u.id = s.user_id
 WHERE s.id = ANY($1::uuid[]) AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active
UNION ALL
SELECT g.id, NULL, NULL, NULL
  FROM guest_sessions g JOIN share_links l ON l.id = g.share_link_id
  JOIN dashboards d ON d.id = g.dashboard_id
 WHERE g.id = ANY($1::uuid[]) AND NOT d.is_archived AND {_LIVE_GUEST}
UNION ALL
SELECT NULL, p.d, p.u, CASE WHEN d.owner_id = p.u THEN 'admin' ELSE coalesce(c.role,
       (SELECT g.role FROM guest_sessions g JOIN share_links l ON l.id = g.share_link_id
         WHERE g.id = p.u AND g.dashboard_id = d.id AND NOT d.is_archived AND {_LIVE_GUEST}),
       CASE WHEN d.is_public THEN 'viewer' END) END
  FROM unnest($2::uuid[], $3::uuid[]) AS p (d, u)
  LEFT JOIN dashboards d ON d.id = p.d
  LEFT JOIN dashboard_collaborators c ON c.dashboard_id = p.d AND c.user_id = p.u
"""


class Access:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_collaborator(
        self,
        dashboard_id: DashboardId,
        user_id: UserId,
        role: str,
        *,
        added_by: UserId | None = None,
    ) -> None:
        """Grant ``role`` (replacing an earlier one). NotFound for an unknown dashboard or user."""
        with translated():
            await self._pool.execute(
                "INSERT INTO dashboard_collaborators (dashboard_id, user_id, role, added_by)"
                " VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (dashboard_id, user_id) DO UPDATE SET role = EXCLUDED.role",
                dashboard_id,
                user_id,
                check_role(role),
                added_by,
            )

    async def remove_collaborator(self, dashboard_id: DashboardId, user_id: UserId) -> bool:
        with translated():
            status = await self._pool.execute(
                "DELETE FROM dashboard_collaborators WHERE dashboard_id = $1 AND user_id = $2",
                dashboard_id,
                user_id,
            )
        return bool(status != "DELETE 0")

    async def collaborators(self, dashboard_id: DashboardId) -> list[Collaborator]:
        with translated():
            rows = await self._pool.fetch(
                "SELECT c.user_id, c.role, u.username, u.display_name, c.created_at"
                " FROM dashboard_collaborators c JOIN users u ON u.id = c.user_id"
                " WHERE c.dashboard_id = $1 ORDER BY c.created_at, u.username",
                dashboard_id,
            )
        return [
            Collaborator(
                UserId(r["user_id"]),
                check_role(r["role"]),
                r["username"],
                r["display_name"],
                r["created_at"],
            )
            for r in rows
        ]

    async def members(self, dashboard_id: DashboardId) -> frozenset[UserId]:
        """The dashboard's owner and collaborators (none when it does not exist)."""
        with translated():
            rows = await self._pool.fetch(
                "SELECT owner_id AS user_id FROM dashboards WHERE id = $1"
                " UNION SELECT user_id FROM dashboard_collaborators WHERE dashboard_id = $1",
                dashboard_id,
            )
        return frozenset(UserId(r["user_id"]) for r in rows)

    async def role_for(self, dashboard_id: DashboardId, user_id: UserId) -> Role | None:
        """The user's role on the dashboard (the owner is admin); None: no access."""
        return (await self.validity((), [(dashboard_id, user_id)])).roles[(dashboard_id, user_id)]

    async def validity(
        self, sessions: Iterable[UUID], pairs: Iterable[tuple[DashboardId, UserId]]
    ) -> Validity:
        """Which of ``sessions`` are live (not revoked, not expired, their user active), and
        every pair's role, in one statement: the re-validation sweep's whole cost."""
        wanted = list(dict.fromkeys(pairs))
        with translated():
            rows = await self._pool.fetch(
                _VALIDITY, list(sessions), [d for d, _ in wanted], [u for _, u in wanted]
            )
        live = frozenset(r["session_id"] for r in rows if r["session_id"] is not None)
        found = {
            (DashboardId(r["dashboard_id"]), UserId(r["user_id"])): r["role"]
            for r in rows
            if r["session_id"] is None
        }
        roles = {p: None if found.get(p) is None else check_role(found[p]) for p in wanted}
        return Validity(live, roles)

    async def create_share_link(
        self,
        dashboard_id: DashboardId,
        *,
        token_hash: bytes,
        role: str,
        created_by: UserId | None,
        password_hash: str | None = None,
        expires_at: datetime | None = None,
    ) -> ShareLink:
        check_jsonb(password_hash)
        with translated():
            row = await self._pool.fetchrow(
                "INSERT INTO share_links"
                " (id, dashboard_id, token_hash, role, password_hash, expires_at, created_by)"
                f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {LINK_COLUMNS}",
                uuid4(),
                dashboard_id,
                token_hash,
                check_role(role),
                password_hash,
                expires_at,
                created_by,
            )
        return _link(row)

    async def share_link_for(self, token_hash: bytes) -> ShareLink | None:
        """The live link (not revoked, not expired, dashboard not archived) for a token hash."""
        with translated():
            row = await self._pool.fetchrow(
                f"SELECT {', '.join('l.' + c for c in LINK_COLUMNS.split(', '))}"
                " FROM share_links l JOIN dashboards d ON d.id = l.dashboard_id"
                " WHERE l.token_hash = $1 AND l.revoked_at IS NULL"
                " AND (l.expires_at IS NULL OR l.expires_at > now()) AND NOT d.is_archived",
                token_hash,
            )
        return None if row is None else _link(row)

    async def share_link_by_token(self, token_hash: bytes) -> tuple[ShareLink, bool] | None:
        """The link for a token hash whatever its state, and whether its dashboard is archived
        (so a caller can tell an expired link from one that never was)."""
        with translated():
            row = await self._pool.fetchrow(
                f"SELECT {', '.join('l.' + c for c in LINK_COLUMNS.split(', '))}, d.is_archived"
                " FROM share_links l JOIN dashboards d ON d.id = l.dashboard_id"
                " WHERE l.token_hash = $1",
                token_hash,
            )
        return None if row is None else (_link(row), bool(row["is_archived"]))

    async def share_links(self, dashboard_id: DashboardId) -> list[ShareLink]:
        with translated():
            rows = await self._pool.fetch(
                f"SELECT {LINK_COLUMNS} FROM share_links WHERE dashboard_id = $1"
                " ORDER BY created_at",
                dashboard_id,
            )
        return [_link(r) for r in rows]

    async def revoke_share_link(self, link_id: UUID) -> bool:
        with translated():
            status = await self._pool.execute(
                "UPDATE share_links SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                link_id,
            )
        return bool(status != "UPDATE 0")
