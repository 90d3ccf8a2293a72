"""Users and login sessions in PostgreSQL.

Sessions are found by the SHA-256 of their token (``token_hash``, 32 bytes); the token itself is
never stored, so a database dump does not log anyone in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from server.core.errors import NotFound
from server.core.ids import UserId
from server.core.jsonvalue import check_jsonb
from server.store.model import LiveSession
from server.store.pool import translated

USER_COLUMNS = "id, email, username, display_name, password_hash, is_active, created_at"


@dataclass(frozen=True)
class User:
    id: UserId
    email: str
    username: str
    display_name: str
    password_hash: str | None = field(repr=False)
    is_active: bool
    created_at: datetime


def _user(row: asyncpg.Record) -> User:
    return User(
        id=UserId(row["id"]),
        email=row["email"],
        username=row["username"],
        display_name=row["display_name"],
        password_hash=row["password_hash"],
        is_active=row["is_active"],
        created_at=row["created_at"],
    )


class Accounts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_user(
        self,
        email: str,
        username: str,
        password_hash: str | None = None,
        *,
        display_name: str = "",
    ) -> UserId:
        """Raises Conflict when the email or username (compared case-insensitively) is taken."""
        check_jsonb([email, username, password_hash, display_name])
        user_id = UserId(uuid4())
        with translated():
            await self._pool.execute(
                "INSERT INTO users (id, email, username, display_name, password_hash)"
                " VALUES ($1, $2, $3, $4, $5)",
                user_id,
                email,
                username,
                display_name,
                password_hash,
            )
        return user_id

    async def get_user(self, user_id: UserId) -> User:
        with translated():
            row = await self._pool.fetchrow(
                f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id
            )
        if row is None:
            raise NotFound(f"user {user_id} not found")
        return _user(row)

    async def find_user(self, login: str) -> User | None:
        """The user whose email or username is ``login`` (case-insensitive)."""
        check_jsonb(login)
        with translated():
            row = await self._pool.fetchrow(
                f"SELECT {USER_COLUMNS} FROM users"
                " WHERE lower(email) = lower($1) OR lower(username) = lower($1)"
                " ORDER BY lower(email) = lower($1) DESC LIMIT 1",
                login,
            )
        return None if row is None else _user(row)

    async def set_password(self, user_id: UserId, password_hash: str | None) -> None:
        check_jsonb(password_hash)
        with translated():
            status = await self._pool.execute(
                "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
                user_id,
                password_hash,
            )
        if status == "UPDATE 0":
            raise NotFound(f"user {user_id} not found")

    async def create_session(
        self, user_id: UserId, token_hash: bytes, expires_at: datetime
    ) -> UUID:
        """Raises NotFound for an unknown user, Conflict for a token hash already in use."""
        session_id = uuid4()
        with translated():
            await self._pool.execute(
                "INSERT INTO sessions (id, user_id, token_hash, expires_at)"
                " VALUES ($1, $2, $3, $4)",
                session_id,
                user_id,
                token_hash,
                expires_at,
            )
        return session_id

    async def user_for_session(self, token_hash: bytes) -> UserId | None:
        """The user of a live session (not revoked, not expired, active user); notes its use."""
        live = await self.session_for(token_hash)
        return None if live is None else live.user_id

    async def session_for(self, token_hash: bytes) -> LiveSession | None:
        """The live session (not revoked, not expired, active user) a token opens; notes its
        use (``last_seen_at``, to the minute)."""
        found = await self.session_until(token_hash)
        return None if found is None else found[0]

    async def session_until(self, token_hash: bytes) -> tuple[LiveSession, datetime] | None:
        """:meth:`session_for`, with the time the session expires."""
        # Every HTTP request authenticates: the use is noted at most once a minute, so most
        # lookups write nothing (a write would wait for its WAL flush).
        with translated():
            row = await self._pool.fetchrow(
                "WITH live AS (SELECT s.id, s.user_id, s.last_seen_at, s.expires_at"
                "   FROM sessions s JOIN users u ON u.id = s.user_id"
                "  WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
                "    AND u.is_active),"
                " seen AS (UPDATE sessions SET last_seen_at = now() FROM live"
                "  WHERE sessions.id = live.id"
                "    AND live.last_seen_at < now() - interval '1 minute')"
                " SELECT id, user_id, expires_at FROM live",
                token_hash,
            )
        if row is None:
            return None
        return LiveSession(row["id"], UserId(row["user_id"])), row["expires_at"]

    async def token_hashes(self, user_id: UserId) -> list[bytes]:
        """The token hashes of the user's sessions that have not expired (live or revoked):
        what a change of the whole user must forget in the session cache."""
        with translated():
            rows = await self._pool.fetch(
                "SELECT token_hash FROM sessions WHERE user_id = $1 AND expires_at > now()",
                user_id,
            )
        return [bytes(r["token_hash"]) for r in rows]

    async def deactivate_user(self, user_id: UserId) -> bool:
        """Mark a user inactive (their sessions stop working); False if already inactive."""
        with translated():
            status = await self._pool.execute(
                "UPDATE users SET is_active = false, updated_at = now()"
                " WHERE id = $1 AND is_active",
                user_id,
            )
        if status == "UPDATE 0":
            await self.get_user(user_id)  # NotFound for an unknown user
            return False
        return True

    async def revoke_session(self, token_hash: bytes) -> UUID | None:
        """Revoke the session a token opens; its id, or None when it was not live."""
        with translated():
            session_id: UUID | None = await self._pool.fetchval(
                "UPDATE sessions SET revoked_at = now()"
                " WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id",
                token_hash,
            )
        return session_id

    async def revoke_sessions(self, user_id: UserId) -> int:
        """Revoke every live session of a user (log out everywhere); returns how many."""
        with translated():
            status = await self._pool.execute(
                "UPDATE sessions SET revoked_at = now()"
                " WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()",
                user_id,
            )
        return int(status.split()[-1])
