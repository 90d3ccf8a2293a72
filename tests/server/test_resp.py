"""The lean Redis client against a real Redis: order, errors, scripts, reconnects, timeouts."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.redis.resp import Endpoint, Resp, Script


@pytest.fixture
def key(redis_prefix: str) -> str:
    return f"{redis_prefix}resp:{secrets.token_hex(4)}"


async def test_replies_come_back_to_their_callers_in_order(resp: Resp, key: str) -> None:
    replies = await asyncio.gather(*(resp.call("RPUSH", key, str(i)) for i in range(200)))
    assert sorted(replies) == list(range(1, 201))  # each caller got its own push's length
    assert await resp.call("LRANGE", key, 0, 2) == [b"0", b"1", b"2"]
    assert await resp.call("GET", f"{key}:missing") is None
    await resp.call("DEL", key)


async def test_an_error_reply_fails_its_own_command_only(resp: Resp, key: str) -> None:
    await resp.call("SET", key, "text")
    wrong, right = await asyncio.gather(
        resp.call("INCR", key), resp.call("GET", key), return_exceptions=True
    )
    assert isinstance(wrong, ResponseError) and "not an integer" in str(wrong)
    assert right == b"text"
    with pytest.raises(ResponseError):
        await resp.pipeline(("SET", f"{key}:b", "1"), ("INCR", key), ("SET", f"{key}:c", "2"))
    # The commands around the failed one ran all the same.
    assert await resp.pipeline(("GET", f"{key}:b"), ("GET", f"{key}:c")) == [b"1", b"2"]
    await resp.call("DEL", key, f"{key}:b", f"{key}:c")


async def test_a_script_is_loaded_when_the_server_does_not_know_it(
    resp: Resp, redis: Redis, key: str
) -> None:
    script = Script(f"return {{KEYS[1], ARGV[1], '{secrets.token_hex(4)}'}}")
    await redis.script_flush()
    assert not (await redis.script_exists(script.sha))[0]
    reply = await resp.run(script, (key,), ("x",))
    assert reply[:2] == [key.encode(), b"x"]
    assert (await redis.script_exists(script.sha))[0]  # EVAL loaded it: next time EVALSHA
    assert await resp.run(script, (key,), ("y",)) == [key.encode(), b"y", reply[2]]


async def test_a_broken_connection_fails_what_is_in_flight_and_the_next_call_reconnects(
    resp: Resp, redis: Redis, key: str
) -> None:
    name = f"resp-{secrets.token_hex(4)}"
    await resp.call("CLIENT", "SETNAME", name)
    blocked = asyncio.ensure_future(resp.call("BLPOP", f"{key}:never", 5))
    await asyncio.sleep(0.05)
    clients = await redis.client_list()
    (ours,) = [c for c in clients if c["name"] == name]
    await redis.client_kill_filter(_id=ours["id"])
    with pytest.raises(RedisConnectionError):
        await blocked
    assert await resp.call("PING") == b"PONG"
    assert await resp.call("CLIENT", "GETNAME") is None  # a new connection


async def test_a_reply_that_never_comes_times_out(unused_tcp_port: int) -> None:
    """A peer that accepts and never answers (a stalled server): the caller is not left
    waiting, and the connection is dropped so a later call starts afresh."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", unused_tcp_port)
    client = Resp.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0", timeout=0.2)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(RedisTimeoutError):
            await client.call("PING")
        assert asyncio.get_running_loop().time() - started < 1.0
        with pytest.raises(RedisTimeoutError):
            await client.call("PING")
        assert len(accepted) == 2  # the second call opened a new connection
    finally:
        await client.aclose()
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()


async def test_nothing_listening_is_a_connection_error(unused_tcp_port: int) -> None:
    client = Resp.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0")
    with pytest.raises(RedisConnectionError):
        await client.call("PING")
    await client.aclose()


async def test_a_closed_client_refuses_commands(resp: Resp) -> None:
    await resp.aclose()
    with pytest.raises(RedisConnectionError):
        await resp.call("PING")


@pytest.fixture
async def acl_user(redis: Redis) -> AsyncIterator[tuple[str, str]]:
    user, password = f"tandem-{secrets.token_hex(4)}", secrets.token_hex(8)
    await redis.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], commands=["+@all"]
    )
    try:
        yield user, password
    finally:
        await redis.acl_deluser(user)


async def test_the_url_selects_the_database_and_authenticates(
    redis_url: str, acl_user: tuple[str, str], key: str
) -> None:
    user, password = acl_user
    parts = urlsplit(redis_url)
    where = f"{parts.hostname}:{parts.port}"  # without the URL's own credentials, if any
    url = urlunsplit(parts._replace(netloc=f"{user}:{password}@{where}", path="/5"))
    client = Resp.from_url(url)
    five = Redis.from_url(urlunsplit(parts._replace(path="/5")))
    zero = Redis.from_url(urlunsplit(parts._replace(path="/0")))
    try:
        await client.call("SET", key, "in five")
        assert await client.call("ACL", "WHOAMI") == user.encode()
        assert await five.get(key) == b"in five"
        assert await zero.exists(key) == 0
    finally:
        await five.delete(key)
        await client.aclose()
        await five.aclose()
        await zero.aclose()
    wrong = Resp.from_url(urlunsplit(parts._replace(netloc=f"{user}:wrong@{where}", path="/5")))
    with pytest.raises(ResponseError):
        await wrong.call("PING")
    await wrong.aclose()


def test_endpoints_from_urls() -> None:
    assert Endpoint.from_url("redis://:pw@db.example:6390/2") == Endpoint(
        host="db.example", port=6390, db=2, password="pw"
    )
    assert Endpoint.from_url("unix:///run/redis.sock?db=3") == Endpoint(
        path="/run/redis.sock", db=3
    )
    assert Endpoint.from_url("rediss://u:p@h/0").tls
    with pytest.raises(ValueError):
        Endpoint.from_url("http://nope")
