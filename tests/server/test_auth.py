"""Authentication and authorisation: tokens, origins, cookies, URL tokens, roles, log redaction."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from websockets.exceptions import InvalidStatus

from server.access.roles import Roles
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.gateway.auth import (
    SESSION_COOKIE,
    RedactTokens,
    handshake_token,
    hash_password,
    new_token,
    origin_allowed,
    public_origin,
    redact,
    token_hash,
    verify_password,
)
from server.store.model import Role
from tests.server.gateway_harness import Gateway, open_client, running_gateway

ALLOWED = "https://app.example.com"


# -- pure parts ----------------------------------------------------------------------------


def test_tokens_are_long_random_and_stored_as_sha256() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)  # 32 bytes in base64url: 256 bits
    token = next(iter(tokens))
    assert token_hash(token) == hashlib.sha256(token.encode()).digest()


def test_passwords_use_argon2id() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong")
    assert not verify_password("not a hash", "correct horse")


OWN = public_origin("https://tandem.example.com/", "0.0.0.0", 8000)


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        (None, (), True),  # not a browser
        (ALLOWED, (ALLOWED,), True),
        (ALLOWED + "/", (ALLOWED.upper(),), True),
        ("https://evil.example", (ALLOWED,), False),
        ("https://evil.example", (), False),
        ("https://tandem.example.com", (), True),  # the configured public URL
        ("http://tandem.example.com", (), False),
        ("https://anything.example", ("*",), True),
    ],
)
def test_origin_allow_list(origin: str | None, allowed: tuple[str, ...], ok: bool) -> None:
    assert origin_allowed(origin, OWN, allowed) is ok


def test_own_origin_without_a_public_url_is_the_served_address() -> None:
    assert public_origin(None, "0.0.0.0", 8300) == (
        "http://127.0.0.1:8300",
        "http://localhost:8300",
    )
    assert public_origin(None, "10.0.0.5", 80) == ("http://10.0.0.5:80",)


def test_handshake_token_sources() -> None:
    cookie = {"cookie": f"theme=dark; {SESSION_COOKIE}=abc; other=1"}
    assert handshake_token(cookie, {"token": "url"}, allow_url=True) == ("abc", "cookie")
    assert handshake_token({}, {"token": "url"}, allow_url=True) == ("url", "url")
    assert handshake_token({}, {"token": "url"}, allow_url=False) == (None, "none")
    assert handshake_token({"cookie": "x=1"}, {}, allow_url=True) == (None, "none")


def test_log_redaction() -> None:
    assert redact("/ws?token=s3cret&x=1") == "/ws?token=[redacted]&x=1"
    assert redact("/ws?a=1&token=s3cret") == "/ws?a=1&token=[redacted]"
    assert redact("/ws?notatoken=1") == "/ws?notatoken=1"
    assert redact("/s/AbC-123_x") == "/s/[redacted]"
    assert redact("GET /s/AbC-123?x=1 HTTP/1.1") == "GET /s/[redacted]?x=1 HTTP/1.1"
    assert redact("/assets/s/x.js /d/abc") == "/assets/s/x.js /d/abc"
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws?token=s3cret"), None,
    )  # fmt: skip
    assert RedactTokens().filter(record)
    assert "s3cret" not in record.getMessage()
    access = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/s/sh4re", "1.1", 200), None,
    )  # fmt: skip
    assert RedactTokens().filter(access)
    assert "sh4re" not in access.getMessage()


async def test_role_cache_expires() -> None:
    now = [0.0]
    answers: dict[tuple[DashboardId, UserId], Role | None] = {}
    calls = []

    class Source:
        async def role_for(self, dashboard_id: DashboardId, user_id: UserId) -> Role | None:
            calls.append((dashboard_id, user_id))
            return answers.get((dashboard_id, user_id))

    roles = Roles(Source(), ttl=2.0, clock=lambda: now[0])
    key = (DashboardId(uuid4()), UserId(uuid4()))
    answers[key] = "editor"
    assert await roles.role(*key) == "editor"
    answers[key] = None  # revoked
    now[0] = 1.0
    assert await roles.role(*key) == "editor"  # cached
    now[0] = 2.5
    assert await roles.role(*key) is None
    assert len(calls) == 2


# -- over real sockets ---------------------------------------------------------------------


def settings_for(database_url: str, redis_url: str, redis_prefix: str, **more: object) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        allowed_origins=(ALLOWED,),
        public_url="https://tandem.example.com",
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
async def strict(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Gateway]:
    async with running_gateway(settings_for(database_url, redis_url, redis_prefix)) as gw:
        yield gw


@pytest.fixture(scope="module")
async def lenient(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Gateway]:
    settings = settings_for(
        database_url,
        redis_url,
        redis_prefix,
        allow_token_in_url=True,
        trusted_proxies=("127.0.0.1",),
    )
    async with running_gateway(settings) as gw:
        yield gw


async def test_cookie_authenticates_an_allowed_origin(strict: Gateway) -> None:
    user, key = await strict.user()
    client = await open_client(
        strict.url, origin=ALLOWED, headers={"Cookie": f"{SESSION_COOKIE}={key}"}, handshake=False
    )
    assert await client.recv() == {"a": "auth", "user": str(user)}
    await client.send({"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2})
    assert (await client.recv())["a"] == "hs"  # answered at once: already authenticated
    await client.close()


async def test_foreign_origin_is_refused_at_the_handshake(strict: Gateway) -> None:
    _, key = await strict.user()
    with pytest.raises(InvalidStatus) as info:
        await open_client(
            strict.url,
            origin="https://evil.example",
            headers={"Cookie": f"{SESSION_COOKIE}={key}"},
        )
    assert info.value.response.status_code == 403
    # the Host header proves nothing: an Origin that merely matches it is refused
    forged = f"http://127.0.0.1:{strict.port}"
    with pytest.raises(InvalidStatus) as info:
        await open_client(
            strict.url, key, origin=forged, headers={"Host": f"127.0.0.1:{strict.port}"}
        )
    assert info.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        await open_client(
            strict.url, key, origin="https://evil.example", headers={"Host": "evil.example"}
        )
    # the configured public URL's origin is the server's own, listed or not
    public = await open_client(strict.url, key, origin="https://tandem.example.com")
    assert await public.request({"a": "pp"}) == {"a": "pp"}
    await public.close()


async def test_url_token_is_ignored_unless_enabled(strict: Gateway, lenient: Gateway) -> None:
    user, key = await strict.user()
    ignored = await open_client(f"{strict.url}?token={key}", handshake=False)
    refusal = await ignored.recv()
    assert refusal["a"] == "auth" and refusal["error"]["code"] == "unauthenticated"
    assert (await ignored.request({"a": "pp"}))["error"]["code"] == "unauthenticated"
    await ignored.close()
    accepted = await open_client(f"{lenient.url}?token={key}", handshake=False)
    assert await accepted.recv() == {"a": "auth", "user": str(user)}
    assert await accepted.request({"a": "pp"}) == {"a": "pp"}
    await accepted.close()


async def test_bad_token_is_refused_and_audited(strict: Gateway) -> None:
    client = await open_client(strict.url, handshake=False)
    bogus = new_token()
    await client.send({"a": "auth", "token": bogus})
    code, _ = await client.closed()
    assert code == 4001
    assert client.backlog[-1]["error"]["code"] == "unauthenticated"
    entries = await strict.services.audit.list_audit(limit=20)
    failed = [e for e in entries if e.action == "auth.failed"]
    assert failed and failed[0].ip == "127.0.0.1"
    assert all(bogus not in str(e.details) for e in entries)


async def _failed_login_ip(gateway: Gateway, forwarded: str) -> str | None:
    client = await open_client(gateway.url, handshake=False, headers={"X-Forwarded-For": forwarded})
    await client.send({"a": "auth", "token": new_token()})
    assert (await client.closed())[0] == 4001
    entries = await gateway.services.audit.list_audit(limit=20)
    return next(e.ip for e in entries if e.action == "auth.failed")


async def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    strict: Gateway, lenient: Gateway
) -> None:
    assert await _failed_login_ip(strict, "203.0.113.9") == "127.0.0.1"
    assert await _failed_login_ip(lenient, "203.0.113.10") == "203.0.113.10"


async def test_revoked_session_cannot_connect(strict: Gateway) -> None:
    _, key = await strict.user()
    await strict.services.accounts.revoke_session(token_hash(key))
    client = await open_client(strict.url, handshake=False)
    await client.send({"a": "auth", "token": key})
    assert (await client.closed())[0] == 4001


async def test_uvicorn_never_logs_a_url_token(lenient: Gateway) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("uvicorn.error")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        _, key = await lenient.user()
        client = await open_client(f"{lenient.url}?token={key}", handshake=False)
        await client.recv()
        await client.close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [r.getMessage() for r in records]
    assert any("/ws?token=[redacted]" in line for line in lines), lines
    assert not any(key in line for line in lines)
