"""Who is connecting, and what they may do on a dashboard.

Session tokens are ``secrets.token_urlsafe(32)`` (256 bits); only their SHA-256 is stored, so a
database dump logs nobody in. A WebSocket connection authenticates, in order of preference, with
``{a:'auth', token}`` as its first message, with the session cookie (only on a handshake whose
Origin passed the allow-list), or with ``?token=`` in the URL when ``allow_token_in_url`` is set
(URLs end up in logs, so that form is off by default, and :class:`RedactTokens` keeps it out of
uvicorn's). Tokens are never logged.

Roles are checked on every message, through the per-process cache of :mod:`server.access.roles`;
open connections are re-checked when their session, user or role changes
(:mod:`server.access.revalidate`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.core.ids import UserId
from server.store.model import LiveSession

SESSION_COOKIE = "tandem_session"
TOKEN_QUERY_PARAM = "token"
TOKEN_TTL = timedelta(days=30)

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class SessionStore(Protocol):
    async def create_session(
        self, user_id: UserId, token_hash: bytes, expires_at: datetime
    ) -> object: ...

    async def session_for(self, token_hash: bytes) -> LiveSession | None: ...


async def issue_token(sessions: SessionStore, user_id: UserId, ttl: timedelta = TOKEN_TTL) -> str:
    """A new session token for ``user_id``; only its hash is stored."""
    token = new_token()
    await sessions.create_session(user_id, token_hash(token), datetime.now(UTC) + ttl)
    return token


async def session_for_token(sessions: SessionStore, token: str) -> LiveSession | None:
    return await sessions.session_for(token_hash(token))


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def public_origin(public_url: str | None, host: str, port: int) -> tuple[str, ...]:
    """The server's own origins: the configured public URL's, else the address it serves on
    (both loopback names when that is loopback or every interface)."""
    if public_url:
        parts = urlsplit(public_url.strip())
        return (_origin_key(f"{parts.scheme}://{parts.netloc}"),)
    if host in ("0.0.0.0", "::", "127.0.0.1", "localhost", "::1"):
        return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
    return (_origin_key(f"http://{host}:{port}"),)


def origin_allowed(origin: str | None, own: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    """May a WebSocket handshake with this Origin proceed?

    No Origin header: not a browser, nothing to protect against. Otherwise the origin must be in
    the allow-list (``*`` allows every origin) or be one of the server's ``own`` origins
    (:func:`public_origin`). The request's Host header is never consulted: whoever forges a
    request chooses it.
    """
    if origin is None:
        return True
    key = _origin_key(origin)
    return "*" in allowed or key in own or key in {_origin_key(a) for a in allowed}


def handshake_token(
    headers: Mapping[str, str], query: Mapping[str, str], *, allow_url: bool
) -> tuple[str | None, str]:
    """The token a handshake carries and where it was found (``cookie``, ``url`` or ``none``).

    Call only after the Origin check passed: that is what makes the cookie safe to honour.
    """
    cookie = cookie_value(headers.get("cookie", ""), SESSION_COOKIE)
    if cookie:
        return cookie, "cookie"
    if allow_url and query.get(TOKEN_QUERY_PARAM):
        return query[TOKEN_QUERY_PARAM], "url"
    return None, "none"


def cookie_value(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key == name and value:
            return value.strip('"')
    return None


_TOKEN_IN_TEXT = re.compile(r"((?:^|[?&\s])token=)[^&\s\"']*")
# The web app's share-link page, /s/<token>: the token is in the path.
_SHARE_PATH = re.compile(r"((?:^|[\s\"'])/s/)[^/?#\s\"']+")


def _has_token(text: str) -> bool:
    return "token=" in text or "/s/" in text


def redact(text: str) -> str:
    return _SHARE_PATH.sub(r"\1[redacted]", _TOKEN_IN_TEXT.sub(r"\1[redacted]", text))


class RedactTokens(logging.Filter):
    """Removes ``token=...`` and share-link paths (``/s/<token>``) from log records (uvicorn
    logs each request's and WebSocket's path and query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and _has_token(record.msg):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(a) if isinstance(a, str) and _has_token(a) else a for a in record.args
            )
        return True


def install_log_redaction() -> None:
    """Attach :class:`RedactTokens` to uvicorn's loggers (once)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
