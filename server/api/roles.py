"""The caller's role on a dashboard, and the checks every dashboard endpoint starts with.

Roles rank ``viewer`` < ``editor`` < ``admin`` < ``owner``. A guest holds the role of its share
link on its one dashboard; anyone signed in may view a public dashboard. A dashboard the caller
cannot see is answered exactly like one that does not exist (404), so ids cannot be probed; one
the caller sees with too small a role is 403.
"""

from __future__ import annotations

from typing import Any, Literal

from server.api.principal import Principal
from server.core.errors import Forbidden, NotFound
from server.core.ids import DashboardId
from server.store.listing import Listed, get_listed

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


async def require(
    conn: Any, principal: Principal, dashboard: DashboardId, at_least: ApiRole
) -> tuple[Listed, ApiRole]:
    """The dashboard's row and the caller's role, at least ``at_least``; else 404 or 403."""
    listed = await get_listed(conn, dashboard, None if principal.guest else principal.user_id)
    role = None if listed is None else effective_role(listed, principal)
    if listed is None or role is None:
        raise NotFound(f"dashboard {dashboard} not found")
    if RANK[role] < RANK[at_least]:
        raise Forbidden(f"this needs the {at_least} role; you are {role}")
    return listed, role
