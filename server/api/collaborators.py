"""Collaborators and roles: list (with who invited, last access and whether online), invite by
username or email, change a role, remove.

Only admins and the owner change roles; the owner is listed with the role ``owner`` and cannot be
removed or given another role. Anyone may remove themselves. Every change is audited and
announced, so the user's open sockets lose (or gain) the access at once.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from server.access.changes import AccessChange, announce
from server.api.endpoint import Call, Endpoint, Reply
from server.api.models import DashboardParams, Items, Request, UserCard, UserRef, card
from server.api.principal import acting
from server.api.roles import ApiRole, require
from server.core.errors import Forbidden, NotFound, OwnerImmutable
from server.core.ids import DashboardId, UserId
from server.store.access import Access
from server.store.pool import translated

GrantedRole = Literal["viewer", "editor", "admin"]

COLLABORATORS = """
SELECT u.id, u.username, u.display_name, m.role, m.added_by, a.username AS added_by_username,
       (SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen
  FROM (SELECT d.owner_id AS user_id, 'owner' AS role, NULL::uuid AS added_by,
               d.created_at AS since
          FROM dashboards d WHERE d.id = $1
        UNION ALL
        SELECT c.user_id, c.role, c.added_by, c.created_at
          FROM dashboard_collaborators c WHERE c.dashboard_id = $1) m
  JOIN users u ON u.id = m.user_id
  LEFT JOIN users a ON a.id = m.added_by
 ORDER BY m.role = 'owner' DESC, m.since, u.username
"""


class MemberParams(Request):
    id: UUID
    user_id: UUID


class Invite(Request):
    login: Annotated[str, Field(min_length=1, max_length=254)]
    role: GrantedRole


class RoleBody(Request):
    role: GrantedRole


class Collaborator(BaseModel):
    user: UserCard
    role: ApiRole
    invited_by: UserRef | None
    last_accessed_at: datetime | None
    online: bool


async def _online(call: Call, users: list[UUID]) -> list[bool]:
    """Has each user a live socket (a connection lease not yet run out)?"""
    if not users:
        return []
    keys = call.api.keys
    now = time.time()
    with translated():
        async with call.api.redis.pipeline(transaction=False) as pipe:
            for user in users:
                pipe.zcount(keys.connections(UserId(user)), now, "+inf")
            counts = await pipe.execute()
    return [int(c) > 0 for c in counts]


async def _members(call: Call, conn: object, dashboard: DashboardId) -> list[Collaborator]:
    rows = await conn.fetch(COLLABORATORS, dashboard)  # type: ignore[attr-defined]
    online = await _online(call, [r["id"] for r in rows])
    return [
        Collaborator(
            user=card(r["id"], r["username"], r["display_name"]),
            role=r["role"],
            invited_by=None
            if r["added_by"] is None or r["added_by_username"] is None
            else UserRef(id=r["added_by"], username=r["added_by_username"]),
            last_accessed_at=r["last_seen"],
            online=up,
        )
        for r, up in zip(rows, online, strict=True)
    ]


async def list_(call: Call) -> Items[Collaborator]:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    async with acting(call.api.pool, call.principal) as conn:
        await require(call, conn, dashboard, "viewer")
        with translated():
            members = await _members(call, conn, dashboard)
    return Items[Collaborator](items=members)


async def _grant(
    call: Call, dashboard: DashboardId, user: UserId, role: GrantedRole
) -> Collaborator:
    principal = call.user
    api = call.api
    async with acting(api.pool, principal) as conn:
        listed, _ = await require(call, conn, dashboard, "admin")
        if user == listed.owner_id:
            raise OwnerImmutable("the owner's role cannot change")
        await Access(conn).add_collaborator(dashboard, user, role, added_by=principal.user_id)
        with translated():
            members = await _members(call, conn, dashboard)
    await api.audit.write_audit(
        "role.granted", principal.user_id, dashboard,
        details={"user": str(user), "role": role}, ip=call.ip,
    )  # fmt: skip
    await announce(api.redis, api.keys, AccessChange("role", str(user), dashboard))
    return next(m for m in members if m.user.id == user)


async def invite(call: Call) -> Reply:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    body = call.take("body", Invite)
    async with acting(call.api.pool, call.principal) as conn:
        await require(call, conn, dashboard, "admin")
    user = await call.api.accounts.find_user(body.login)
    if user is None or not user.is_active:
        raise NotFound(f"nobody is called {body.login!r}")
    return Reply(await _grant(call, dashboard, user.id, body.role), 201)


async def put(call: Call) -> Collaborator:
    params = call.take("params", MemberParams)
    body = call.take("body", RoleBody)
    return await _grant(call, DashboardId(params.id), UserId(params.user_id), body.role)


async def remove(call: Call) -> None:
    params = call.take("params", MemberParams)
    dashboard, user = DashboardId(params.id), UserId(params.user_id)
    principal = call.user
    api = call.api
    async with acting(api.pool, principal) as conn:
        own = user == principal.user_id
        listed, _ = await require(call, conn, dashboard, "viewer" if own else "admin")
        if user == listed.owner_id:
            raise OwnerImmutable("the owner cannot be removed")
        if not await Access(conn).remove_collaborator(dashboard, user):
            raise NotFound(f"user {user} is not a collaborator")
    await api.audit.write_audit(
        "role.revoked", principal.user_id, dashboard, details={"user": str(user)}, ip=call.ip
    )
    await announce(api.redis, api.keys, AccessChange("role", str(user), dashboard))


ENDPOINTS = [
    Endpoint("GET", "/dashboards/{id}/collaborators", list_,
             "Who has access, with role, inviter, last access and whether online",
             "collaborators", Items[Collaborator], params=DashboardParams, auth="any",
             errors=(NotFound,)),
    Endpoint("POST", "/dashboards/{id}/collaborators", invite,
             "Invite a user by username or email (admin, owner)", "collaborators",
             Collaborator, 201, params=DashboardParams, body=Invite,
             errors=(NotFound, Forbidden, OwnerImmutable)),
    Endpoint("PUT", "/dashboards/{id}/collaborators/{user_id}", put,
             "Grant or change a role (admin, owner)", "collaborators", Collaborator,
             params=MemberParams, body=RoleBody, errors=(NotFound, Forbidden, OwnerImmutable)),
    Endpoint("DELETE", "/dashboards/{id}/collaborators/{user_id}", remove,
             "Remove a collaborator (admin, owner, or oneself)", "collaborators",
             params=MemberParams, errors=(NotFound, Forbidden, OwnerImmutable)),
]  # fmt: skip
