"""Who is calling: a bearer token or the ``tandem_session`` cookie, a user or a guest.

The token is the same kind the WebSocket accepts (:mod:`server.gateway.auth`): only its SHA-256
is looked up. A cookie is sent by the browser on its own, so an unsafe request (anything but
GET/HEAD/OPTIONS) authenticated by the cookie alone must come from an allowed origin: its
``Origin`` (or, without one, ``Sec-Fetch-Site: same-origin``) must pass the same allow-list as
the WebSocket handshake. A bearer token cannot be sent cross-site by a browser, so it needs no
such check.

:func:`acting` opens the transaction every API read runs in: the role ``tandem_api`` and the
acting user (``SET LOCAL``; a guest as ``tandem.guest_id`` and its one dashboard), so row-level
security (``sql/0002_api.sql``, ``0007``) filters whatever the query forgets to.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import asyncpg

from server.core.errors import OriginRefused, Unauthenticated
from server.core.ids import DashboardId, UserId
from server.gateway.auth import SESSION_COOKIE, cookie_value, origin_allowed, token_hash
from server.store.guests import GuestSession, GuestSessions
from server.store.pool import API_ROLE, translated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. For a guest, ``user_id`` is the guest session's id."""

    user_id: UserId
    session_id: UUID
    via: Literal["bearer", "cookie"]
    token_hash: bytes = field(repr=False)
    guest: GuestSession | None = None


def request_token(headers: Mapping[str, str]) -> tuple[str | None, Literal["bearer", "cookie"]]:
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return value.strip(), "bearer"
    return cookie_value(headers.get("cookie", ""), SESSION_COOKIE), "cookie"


def check_origin(
    method: str, headers: Mapping[str, str], allowed: tuple[str, ...], own: tuple[str, ...]
) -> None:
    """The CSRF check for a cookie-authenticated request."""
    if method in SAFE_METHODS:
        return
    origin = headers.get("origin")
    if origin is None:
        if headers.get("sec-fetch-site") == "same-origin":
            return
        raise OriginRefused("a cookie-authenticated request must carry an allowed Origin")
    if not origin_allowed(origin, own, allowed):
        raise OriginRefused(f"origin {origin!r} is not allowed")


async def authenticate(
    headers: Mapping[str, str],
    method: str,
    *,
    sessions: Any,
    guests: GuestSessions,
    allowed_origins: tuple[str, ...],
    own_origins: tuple[str, ...],
) -> Principal | None:
    """The caller, or None when the request carries no credentials at all. Raises
    Unauthenticated for a dead or malformed token, OriginRefused for a CSRF-suspect request."""
    token, via = request_token(headers)
    if token is None:
        return None
    if via == "cookie":
        check_origin(method, headers, allowed_origins, own_origins)
    digest = token_hash(token)
    session = await sessions.session_for(digest)
    if session is not None:
        return Principal(session.user_id, session.id, via, digest)
    guest = await guests.find(digest)
    if guest is not None:
        return Principal(UserId(guest.id), guest.id, via, digest, guest)
    raise Unauthenticated("invalid or expired token")


@contextlib.asynccontextmanager
async def acting(pool: asyncpg.Pool, principal: Principal | None) -> AsyncIterator[Any]:
    """A connection in a transaction as ``tandem_api``, with the acting user (and a guest's
    dashboard) set for row-level security. Without a principal nothing is visible."""
    guest = principal is not None and principal.guest is not None
    user = "" if principal is None else str(principal.user_id)
    dashboard: DashboardId | None = (
        None if principal is None or principal.guest is None else (principal.guest.dashboard_id)
    )
    with translated():
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                # JIT compiling costs more than these short queries take (100 ms measured).
                "SELECT set_config('role', $1, true), set_config('tandem.user_id', $2, true),"
                " set_config('tandem.guest_id', $3, true),"
                " set_config('tandem.dashboard_id', $4, true), set_config('jit', 'off', true)",
                API_ROLE,
                "" if guest else user,
                user if guest else "",
                "" if dashboard is None else str(dashboard),
            )
            yield conn
