"""Share links and the guest sessions they give.

A link's token (256 bits) is shown once, when the link is made; only its SHA-256 is stored, and
its password, when it has one, as an Argon2id hash. Redeeming a link is ``POST
/api/guest-sessions`` with the token in the body, never in a URL, so it reaches no access log.
A guest session holds the link's dashboard with the link's role, for at most
:data:`GUEST_SESSION_TTL` and never past the link's expiry; revoking the link ends it.
Wrong passwords are counted per link and per address; every redemption is audited.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from server.access.changes import AccessChange, announce
from server.api.endpoint import Call, Endpoint, Reply
from server.api.models import DashboardParams, Items, Request, UserRef
from server.api.principal import acting
from server.api.problem import invalid
from server.api.roles import require
from server.core.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    ShareLinkExpired,
    ShareLinkNotFound,
    ShareLinkPasswordRequired,
    ShareLinkPasswordWrong,
)
from server.core.ids import DashboardId
from server.gateway.auth import hash_password, new_token, token_hash, verify_password
from server.store.access import Access
from server.store.pool import translated

GUEST_SESSION_TTL = timedelta(days=7)
LinkRole = Literal["viewer", "editor"]
Token = Annotated[str, Field(min_length=16, max_length=256)]
LinkPassword = Annotated[str, Field(min_length=1, max_length=1024)]


class LinkParams(Request):
    id: UUID
    link_id: UUID


class NewLink(Request):
    role: LinkRole
    password: LinkPassword | None = None
    expires_at: AwareDatetime | None = None


class CreatedLink(BaseModel):
    id: UUID
    token: str
    path: str
    role: LinkRole
    has_password: bool
    expires_at: datetime | None
    created_at: datetime


class Link(BaseModel):
    id: UUID
    role: LinkRole
    has_password: bool
    expires_at: datetime | None
    created_at: datetime
    created_by: UserRef | None


class Redeem(Request):
    token: Token
    password: LinkPassword | None = None
    display_name: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class GuestSessionOut(BaseModel):
    token: str
    expires_at: datetime
    dashboard_id: UUID
    role: LinkRole
    display_name: str


def _role(role: str) -> LinkRole:
    return "editor" if role == "editor" else "viewer"


async def create(call: Call) -> Reply:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    body = call.take("body", NewLink)
    principal = call.user
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise invalid("$.expires_at", "must be in the future")
    password_hash = (
        None if body.password is None else await asyncio.to_thread(hash_password, body.password)
    )
    token = new_token()
    async with acting(call.api.pool, principal) as conn:
        await require(call, conn, dashboard, "admin")
        link = await Access(conn).create_share_link(
            dashboard, token_hash=token_hash(token), role=body.role,
            created_by=principal.user_id, password_hash=password_hash,
            expires_at=body.expires_at,
        )  # fmt: skip
    await call.api.audit.write_audit(
        "share_link.created", principal.user_id, dashboard,
        details={"link": str(link.id), "role": link.role, "password": password_hash is not None},
        ip=call.ip,
    )  # fmt: skip
    created = CreatedLink(
        id=link.id, token=token, path=f"/s/{token}", role=_role(link.role),
        has_password=password_hash is not None, expires_at=link.expires_at,
        created_at=link.created_at,
    )  # fmt: skip
    return Reply(created, 201)


async def list_(call: Call) -> Items[Link]:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    async with acting(call.api.pool, call.principal) as conn:
        await require(call, conn, dashboard, "admin")
        with translated():
            rows = await conn.fetch(
                "SELECT l.id, l.role, l.password_hash IS NOT NULL AS has_password, l.expires_at,"
                " l.created_at, l.created_by, u.username"
                " FROM share_links l LEFT JOIN users u ON u.id = l.created_by"
                " WHERE l.dashboard_id = $1 AND l.revoked_at IS NULL ORDER BY l.created_at",
                dashboard,
            )
    return Items[Link](items=[_listed(r) for r in rows])


def _listed(r: Any) -> Link:
    creator = None
    if r["created_by"] is not None and r["username"] is not None:
        creator = UserRef(id=r["created_by"], username=r["username"])
    return Link(
        id=r["id"], role=_role(r["role"]), has_password=r["has_password"],
        expires_at=r["expires_at"], created_at=r["created_at"], created_by=creator,
    )  # fmt: skip


async def revoke(call: Call) -> None:
    params = call.take("params", LinkParams)
    dashboard = DashboardId(params.id)
    principal = call.user
    async with acting(call.api.pool, principal) as conn:
        await require(call, conn, dashboard, "admin")
        with translated():
            status = await conn.execute(
                "UPDATE share_links SET revoked_at = now()"
                " WHERE id = $1 AND dashboard_id = $2 AND revoked_at IS NULL",
                params.link_id,
                dashboard,
            )
    if status == "UPDATE 0":
        raise ShareLinkNotFound(f"no live share link {params.link_id} on this dashboard")
    await call.api.audit.write_audit(
        "share_link.revoked", principal.user_id, dashboard,
        details={"link": str(params.link_id)}, ip=call.ip,
    )  # fmt: skip
    await announce(
        call.api.redis, call.api.keys, AccessChange("share_link", str(params.link_id), dashboard)
    )


async def redeem(call: Call) -> Reply:
    body = call.take("body", Redeem)
    api = call.api
    found = await api.access.share_link_by_token(token_hash(body.token))
    if found is None:
        raise ShareLinkNotFound("no live share link has that token")
    link, archived = found
    now = datetime.now(UTC)
    if link.revoked_at is not None or archived:
        raise ShareLinkNotFound("no live share link has that token")
    if link.expires_at is not None and link.expires_at <= now:
        raise ShareLinkExpired("the share link has expired")
    if link.password_hash is not None:
        if body.password is None:
            raise ShareLinkPasswordRequired("this share link needs its password")
        subjects = [f"link:{link.id}"] + ([f"ip:{call.ip}"] if call.ip else [])
        await api.limits.check_password_attempts(*subjects)
        if not await asyncio.to_thread(verify_password, link.password_hash, body.password):
            await api.limits.failed_password(*subjects)
            await api.audit.write_audit(
                "share_link.password_failed", None, link.dashboard_id,
                details={"link": str(link.id)}, ip=call.ip,
            )  # fmt: skip
            raise ShareLinkPasswordWrong("wrong password for this share link")
    expires_at = now + GUEST_SESSION_TTL
    if link.expires_at is not None:
        expires_at = min(expires_at, link.expires_at)
    token = new_token()
    name = body.display_name or "Guest"
    guest = await api.guests.create(
        share_link_id=link.id, dashboard_id=link.dashboard_id, role=_role(link.role),
        display_name=name, token_hash=token_hash(token), expires_at=expires_at,
    )  # fmt: skip
    await api.audit.write_audit(
        "share_link.redeemed", None, link.dashboard_id,
        details={"link": str(link.id), "guest": str(guest.id), "display_name": name}, ip=call.ip,
    )  # fmt: skip
    out = GuestSessionOut(
        token=token, expires_at=expires_at, dashboard_id=link.dashboard_id, role=guest.role,
        display_name=name,
    )  # fmt: skip
    return Reply(out, 201)


ENDPOINTS = [
    Endpoint("POST", "/dashboards/{id}/share-links", create,
             "Make a share link (admin, owner); its token is shown only here", "share-links",
             CreatedLink, 201, params=DashboardParams, body=NewLink,
             errors=(NotFound, Forbidden)),
    Endpoint("GET", "/dashboards/{id}/share-links", list_, "The live share links (admin, owner)",
             "share-links", Items[Link], params=DashboardParams, errors=(NotFound, Forbidden)),
    Endpoint("DELETE", "/dashboards/{id}/share-links/{link_id}", revoke,
             "Revoke a share link: its guests lose access at once", "share-links",
             params=LinkParams, errors=(NotFound, Forbidden, ShareLinkNotFound)),
    Endpoint("POST", "/guest-sessions", redeem,
             "Redeem a share link (token in the body) for a guest session", "share-links",
             GuestSessionOut, 201, body=Redeem, auth="none", rate_scope="redeem",
             errors=(ShareLinkNotFound, ShareLinkExpired, ShareLinkPasswordRequired,
                     ShareLinkPasswordWrong, RateLimited)),
]  # fmt: skip
