"""Guest sessions: what redeeming a share link gives, in PostgreSQL.

A guest session holds one dashboard with the link's role. It lives while the session is not
expired or revoked, its link is not expired or revoked, and the dashboard is not archived; the
query that finds it checks all of that, so revoking the link ends every session made from it.
The session's id stands for the guest wherever a user id is recorded (ops, presence, audit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.model import LiveSession
from server.store.pool import translated

GuestRole = Literal["viewer", "editor"]
LIVE = """
  FROM guest_sessions g
  JOIN share_links l ON l.id = g.share_link_id
  JOIN dashboards d ON d.id = g.dashboard_id
 WHERE g.revoked_at IS NULL AND g.expires_at > now()
   AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > now())
   AND NOT d.is_archived
"""


@dataclass(frozen=True)
class GuestSession:
    id: UUID
    share_link_id: UUID
    dashboard_id: DashboardId
    role: GuestRole
    display_name: str
    expires_at: datetime


def _guest(row: Any) -> GuestSession:
    role: GuestRole = "editor" if row["role"] == "editor" else "viewer"
    return GuestSession(
        id=row["id"],
        share_link_id=row["share_link_id"],
        dashboard_id=DashboardId(row["dashboard_id"]),
        role=role,
        display_name=row["display_name"],
        expires_at=row["expires_at"],
    )


class GuestSessions:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create(
        self,
        *,
        share_link_id: UUID,
        dashboard_id: DashboardId,
        role: GuestRole,
        display_name: str,
        token_hash: bytes,
        expires_at: datetime,
    ) -> GuestSession:
        check_jsonb(display_name)
        with translated():
            row = await self._pool.fetchrow(
                "INSERT INTO guest_sessions"
                " (id, share_link_id, dashboard_id, role, display_name, token_hash, expires_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " RETURNING id, share_link_id, dashboard_id, role, display_name, expires_at",
                uuid4(),
                share_link_id,
                dashboard_id,
                role,
                display_name,
                token_hash,
                expires_at,
            )
        return _guest(row)

    async def find(self, token_hash: bytes) -> GuestSession | None:
        """The live guest session for a token hash."""
        with translated():
            row = await self._pool.fetchrow(
                "SELECT g.id, g.share_link_id, g.dashboard_id, g.role, g.display_name,"
                f" g.expires_at {LIVE} AND g.token_hash = $1",
                token_hash,
            )
        return None if row is None else _guest(row)

    async def revoke(self, token_hash: bytes) -> bool:
        with translated():
            status = await self._pool.execute(
                "UPDATE guest_sessions SET revoked_at = now()"
                " WHERE token_hash = $1 AND revoked_at IS NULL",
                token_hash,
            )
        return bool(status != "UPDATE 0")


class SessionsAndGuests:
    """The session store the WebSocket authenticates with: a user's session or a guest's (a
    guest session's id is both its session id and the id it acts as)."""

    def __init__(self, accounts: Any, guests: GuestSessions) -> None:
        self._accounts = accounts
        self._guests = guests

    async def create_session(self, user_id: UserId, token_hash: bytes, expires_at: datetime) -> Any:
        return await self._accounts.create_session(user_id, token_hash, expires_at)

    async def session_for(self, token_hash: bytes) -> LiveSession | None:
        session: LiveSession | None = await self._accounts.session_for(token_hash)
        if session is not None:
            return session
        guest = await self._guests.find(token_hash)
        return None if guest is None else LiveSession(guest.id, UserId(guest.id), guest=True)
