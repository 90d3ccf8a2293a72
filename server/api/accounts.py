"""Accounts and sessions: sign up, log in, log out, who am I, find a user to invite.

Passwords are hashed with Argon2id (:func:`server.gateway.auth.hash_password`) in a worker
thread, so a login does not stall the event loop. Session tokens are the WebSocket's: 256 bits,
only their SHA-256 stored. A login by an unknown name costs the same Argon2 work as a wrong
password, and both answer ``invalid_credentials``; wrong passwords are counted per login name and
per address.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, RootModel

from server.access.cache import Miss
from server.access.changes import AccessChange, announce
from server.api.endpoint import Call, Endpoint, Reply
from server.api.models import Request, avatar_color
from server.core.errors import (
    Conflict,
    InvalidCredentials,
    NotFound,
    RateLimited,
    RegistrationClosed,
)
from server.gateway.auth import (
    SESSION_COOKIE,
    hash_password,
    issue_token,
    verify_password,
)
from server.store.accounts import User as StoredUser

# A hash of a password nobody has, verified when the login names nobody (same cost).
_NOBODY = hash_password("tandem: no such user")

Email = Annotated[
    str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$", examples=["ann@x.io"])
]
Username = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Password = Annotated[str, Field(min_length=8, max_length=1024)]
FullName = Annotated[str, Field(max_length=200)]
Login = Annotated[str, Field(min_length=1, max_length=254)]


class SignUp(Request):
    email: Email
    username: Username
    password: Password
    full_name: FullName = ""


class User(BaseModel):
    id: UUID
    email: str
    username: str
    full_name: str
    avatar_color: str
    created_at: datetime


class Guest(BaseModel):
    guest: Literal[True] = True
    display_name: str
    dashboard_id: UUID
    role: Literal["viewer", "editor"]


class Me(RootModel[User | Guest]):
    pass


class LogIn(Request):
    login: Login = Field(description="email or username")
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class SessionOut(BaseModel):
    token: str
    expires_at: datetime
    user: User


class LookupQuery(Request):
    login: Login


class Lookup(BaseModel):
    id: UUID
    username: str
    full_name: str


def user_out(user: StoredUser) -> User:
    return User(
        id=user.id,
        email=user.email,
        username=user.username,
        full_name=user.display_name,
        avatar_color=avatar_color(user.id),
        created_at=user.created_at,
    )


async def sign_up(call: Call) -> User:
    body = call.take("body", SignUp)
    api = call.api
    if not api.settings.registration_open:
        raise RegistrationClosed("registration is closed on this server")
    password_hash = await asyncio.to_thread(hash_password, body.password)
    try:
        user_id = await api.accounts.create_user(
            body.email, body.username, password_hash, display_name=body.full_name
        )
    except Conflict as exc:
        raise Conflict("that email or username is taken") from exc
    await api.audit.write_audit("user.created", user_id, ip=call.ip)
    return user_out(await api.accounts.get_user(user_id))


async def log_in(call: Call) -> Reply:
    body = call.take("body", LogIn)
    api = call.api
    subjects = [f"login:{body.login.lower()}"] + ([f"ip:{call.ip}"] if call.ip else [])
    await api.limits.check_password_attempts(*subjects)
    user = await api.accounts.find_user(body.login)
    stored = user.password_hash if user is not None and user.is_active else None
    ok = await asyncio.to_thread(verify_password, stored or _NOBODY, body.password)
    if user is None or stored is None or not ok:
        await api.limits.failed_password(*subjects)
        await api.audit.write_audit(
            "auth.failed", None if user is None else user.id, details={"via": "http"}, ip=call.ip
        )
        raise InvalidCredentials("wrong login or password")
    ttl = timedelta(days=api.settings.session_days)
    token = await issue_token(api.accounts, user.id, ttl)
    expires_at = datetime.now(UTC) + ttl
    await api.audit.write_audit("auth.login", user.id, details={"via": "http"}, ip=call.ip)
    call.cookies.append((SESSION_COOKIE, token, int(ttl.total_seconds())))
    return Reply(SessionOut(token=token, expires_at=expires_at, user=user_out(user)), 201)


async def log_out(call: Call) -> None:
    principal = call.user
    api = call.api
    if principal.guest is not None:
        await api.guests.revoke(principal.token_hash)
    else:
        await api.accounts.revoke_session(principal.token_hash)
    await api.audit.write_audit("auth.logout", principal.user_id, ip=call.ip)
    await announce(
        api.redis, api.keys, AccessChange("session", str(principal.session_id)),
        tokens=(principal.token_hash,),
    )  # fmt: skip
    call.cookies.append((SESSION_COOKIE, "", 0))


async def me(call: Call) -> Me:
    principal = call.user
    if principal.guest is not None:
        g = principal.guest
        return Me(Guest(display_name=g.display_name, dashboard_id=g.dashboard_id, role=g.role))
    cache = call.api.cache
    cached = await cache.profile(principal.user_id)
    if isinstance(cached, Miss):
        user = user_out(await call.api.accounts.get_user(principal.user_id))
        await cache.remember_profile(principal.user_id, user.model_dump(mode="json"))
        return Me(user)
    return Me(User.model_validate(cached))


async def lookup(call: Call) -> Lookup:
    query = call.take("query", LookupQuery)
    user = await call.api.accounts.find_user(query.login)
    if user is None or not user.is_active:
        raise NotFound(f"nobody is called {query.login!r}")
    return Lookup(id=user.id, username=user.username, full_name=user.display_name)


ENDPOINTS = [
    Endpoint("POST", "/users", sign_up, "Sign up", "accounts", User, 201, body=SignUp,
             auth="none", errors=(Conflict, RegistrationClosed), rate_scope="signup"),
    Endpoint("POST", "/sessions", log_in, "Log in (sets the session cookie too)", "accounts",
             SessionOut, 201, body=LogIn, auth="none",
             errors=(InvalidCredentials, RateLimited)),
    Endpoint("DELETE", "/sessions/current", log_out, "Log out: the token stops working at once",
             "accounts", auth="any"),
    Endpoint("GET", "/me", me, "Who am I (a user, or a guest of a share link)", "accounts", Me,
             auth="any"),
    Endpoint("GET", "/users/lookup", lookup, "Find a user to invite, by username or email",
             "accounts", Lookup, query=LookupQuery, errors=(NotFound,)),
]  # fmt: skip
