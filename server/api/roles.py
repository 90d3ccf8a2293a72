"""The caller's role on a dashboard, and the checks every dashboard endpoint starts with.

Roles rank ``viewer`` < ``editor`` < ``admin`` < ``owner``. A guest holds the role of its share
link on its one dashboard; anyone signed in may view a public dashboard. A dashboard the caller
cannot see is answered exactly like one that does not exist (404), so ids cannot be probed; one
the caller sees with too small a role is 403.

The role and the dashboard's row come from the cache every process shares
(:mod:`server.access.cache`; the socket's role checks read the same role entries): while
nothing changed, an authorised request reads neither from PostgreSQL. A miss reads the row
with the caller's role in the request's transaction, under row-level security, and remembers
both. Every change of a role, a link or a dashboard forgets its entries before it is answered,
so the next request anywhere sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from server.access.cache import Meta, Miss, Seen
from server.api.principal import Principal, acting
from server.core.errors import Forbidden, NotFound
from server.core.ids import DashboardId, UserId
from server.store.listing import Listed, get_listed
from server.store.model import Role

if TYPE_CHECKING:
    from server.api.endpoint import Call

ApiRole = Literal["viewer", "editor", "admin", "owner"]
RANK: dict[str, int] = {"viewer": 0, "editor": 1, "admin": 2, "owner": 3}


def effective_role(listed: Listed, principal: Principal) -> ApiRole | None:
    guest = principal.guest
    if guest is not None:
        return guest.role if guest.dashboard_id == listed.id and not listed.is_archived else None
    if listed.role in RANK:
        role: ApiRole = listed.role  # type: ignore[assignment]
        return role
    return "viewer" if listed.is_public else None


def shared_role(listed: Listed) -> Role | None:
    """The role as the socket and the shared cache hold it: the owner is an admin there."""
    if listed.role == "owner":
        return "admin"
    if listed.role in ("viewer", "editor", "admin"):
        role: Role = listed.role  # type: ignore[assignment]
        return role
    return "viewer" if listed.is_public else None


async def require(
    call: Call, conn: Any, dashboard: DashboardId, at_least: ApiRole
) -> tuple[Listed, ApiRole]:
    """The dashboard's row and the caller's role, at least ``at_least``; else 404 or 403."""
    user = None if call.user.guest else call.user.user_id
    seen = await call.api.cache.dashboard(dashboard, user)
    return await _require(call, conn, dashboard, at_least, seen)


async def authorise(call: Call, dashboard: DashboardId, at_least: ApiRole) -> None:
    """:func:`require` for an endpoint that needs the verdict, not the row. A user's cached
    role that is enough settles it without PostgreSQL, even when the dashboard's metadata is
    not cached (every commit forgets it, so a dashboard being edited misses it); anything
    else is decided by :func:`require` in a transaction of its own."""
    principal = call.user
    user = None if principal.guest else principal.user_id
    seen = await call.api.cache.dashboard(dashboard, user)
    # An owner's entry says admin (shared_role), so only "owner" itself needs the row.
    if isinstance(seen.role, str) and RANK[seen.role] >= RANK[at_least]:
        return
    async with acting(call.api.pool, principal) as conn:
        await _require(call, conn, dashboard, at_least, seen)


async def _require(
    call: Call, conn: Any, dashboard: DashboardId, at_least: ApiRole, seen: Seen
) -> tuple[Listed, ApiRole]:
    principal = call.user
    cache = call.api.cache
    user = None if principal.guest else principal.user_id
    listed: Listed | None
    if isinstance(seen.meta, Miss) or (user is not None and isinstance(seen.role, Miss)):
        listed = await get_listed(conn, dashboard, user)
        if listed is not None:
            if user is not None:
                await cache.remember_role(dashboard, user, shared_role(listed), seen.access)
            await cache.remember_meta(dashboard, _meta(listed), seen.change)
    else:
        listed = _listed(dashboard, seen.meta, None if user is None else seen.role, user)
    role = None if listed is None else effective_role(listed, principal)
    if listed is None or role is None:
        raise NotFound(f"dashboard {dashboard} not found")
    if RANK[role] < RANK[at_least]:
        raise Forbidden(f"this needs the {at_least} role; you are {role}")
    return listed, role


def _meta(listed: Listed) -> Meta:
    return Meta(
        owner_id=listed.owner_id, owner_username=listed.owner_username, title=listed.title,
        description=listed.description, collaborator_count=listed.collaborator_count,
        head_version=listed.head_version, is_archived=listed.is_archived,
        is_public=listed.is_public, created_at=listed.created_at.isoformat(),
        updated_at=listed.updated_at.isoformat(),
    )  # fmt: skip


def _listed(
    dashboard: DashboardId, meta: Meta, role: Role | Miss | None, user: UserId | None
) -> Listed:
    """The row as :func:`get_listed` would answer it, from the cached metadata and role."""
    listed_role: str | None = None if isinstance(role, Miss) else role
    if user is not None and meta.owner_id == user:
        listed_role = "owner"
    return Listed(
        dashboard, meta.title, meta.description, meta.owner_id, meta.owner_username,
        listed_role, meta.collaborator_count, meta.head_version, meta.is_archived,
        meta.is_public, datetime.fromisoformat(meta.created_at),
        datetime.fromisoformat(meta.updated_at), None,
    )  # fmt: skip
