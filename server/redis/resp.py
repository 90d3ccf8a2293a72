"""A lean Redis client for the sequencing hot path: one pipelined connection, hiredis parsing.

Every submit costs a few Redis commands (the queue push, the lock, the settle script, the next
batch's read). Through redis-py each costs 75 to 90 µs of this process's CPU on top of the round
trip (pool checkout, retry and timeout wrappers, response callbacks); here a command is packed
by hiredis, written to one connection shared by every caller, and its reply resolves a future in
the order Redis answers. Commands issued in the same turn of the event loop leave in one write.

Semantics the callers rely on:

- no automatic retries: a command whose connection breaks fails with redis-py's
  ``ConnectionError`` and the next command reconnects. The hot path's commands are either
  idempotent or guarded by the lock token, and a failed batch stays queued for the next drain,
  so the caller (not this client) decides what to redo. Retrying blindly would be wrong here: a
  settle script that ran but whose reply was lost would trim the queue twice;
- a reply that takes longer than ``timeout`` aborts the connection, failing every command in
  flight on it with ``TimeoutError`` (so one lost reply cannot leave callers waiting forever);
- an error reply raises ``ResponseError`` (``NoScriptError`` for NOSCRIPT) to its caller alone.

The exceptions are redis-py's, so code that handles ``RedisError`` handles these too. Everything
else (pub/sub, presence, the watchdog, administration) keeps using redis-py.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import hiredis
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.core import metrics

Arg = str | bytes | int | float


@dataclass(frozen=True)
class Script:
    """A Lua script, run by its SHA1 (EVALSHA) once Redis knows it."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())


@dataclass(frozen=True)
class Endpoint:
    host: str | None = None
    port: int = 6379
    path: str | None = None  # a unix socket
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        return cls(
            host=options.get("host"),
            port=int(options.get("port") or 6379),
            path=options.get("path"),
            db=int(options.get("db") or 0),
            username=options.get("username"),
            password=options.get("password"),
            tls=urlsplit(url).scheme == "rediss",
        )

    def handshake(self) -> list[tuple[Arg, ...]]:
        commands: list[tuple[Arg, ...]] = []
        if self.password is not None:
            auth: tuple[Arg, ...] = ("AUTH", self.password)
            commands.append(auth if self.username is None else ("AUTH", self.username, *auth[1:]))
        if self.db:
            commands.append(("SELECT", self.db))
        return commands


class _Protocol(asyncio.Protocol):
    """One connection: commands written in order, replies matched to them in that order."""

    def __init__(self, timeout: float) -> None:
        self._reader = hiredis.Reader(replyError=ResponseError)
        self._waiting: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        self._outgoing: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._watch: asyncio.TimerHandle | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        if self.lost is not None:
            future.set_exception(self.lost)
            return future
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing.append(packed)
        self._waiting.append((self._loop.time(), future))
        if self._watch is None:
            self._watch = self._loop.call_later(self._timeout, self._check)
        return future

    def _flush(self) -> None:
        if self._transport is not None and self._outgoing and self.lost is None:
            self._transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while self._waiting:
            reply = self._reader.gets()
            if reply is False:
                return
            _, future = self._waiting.popleft()
            if future.done():
                continue  # its caller was cancelled: the reply still had to be read past
            if isinstance(reply, ResponseError):
                future.set_exception(_error(reply))
            else:
                future.set_result(reply)

    def _check(self) -> None:
        self._watch = None
        if not self._waiting:
            return
        sent, _ = self._waiting[0]
        late = self._loop.time() - sent
        if late >= self._timeout:
            self._fail(RedisTimeoutError(f"no reply from Redis in {self._timeout} s"))
            return
        self._watch = self._loop.call_later(self._timeout - late, self._check)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}"))

    def _fail(self, problem: Exception, *, closing: bool = False) -> None:
        if self.lost is None:
            self.lost = problem
            if not closing:
                metrics.REDIS_ERRORS.inc()
        if self._transport is not None:
            self._transport.abort()
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_exception(problem)

    def close(self) -> None:
        self._fail(RedisConnectionError("the client is closed"), closing=True)


def pack(args: tuple[Arg, ...]) -> bytes:
    """One command in RESP."""
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]  # the stub is narrow
    return packed


def _error(reply: ResponseError) -> ResponseError:
    message = str(reply)
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    return reply


class Resp:
    """A pipelined client over one connection, (re)connected on demand."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 5.0) -> None:
        self._endpoint = endpoint
        self._timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0) -> Resp:
        return cls(Endpoint.from_url(url), timeout=timeout)

    async def call(self, *args: Arg) -> Any:
        """Run one command and return its reply (bytes, int, list, None)."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connect()
        return await protocol.send(pack(args))

    async def pipeline(self, *commands: tuple[Arg, ...]) -> list[Any]:
        """Run several commands in one write; their replies, in order. The first error reply
        is raised once every reply has arrived (the others have run all the same)."""
        replies = await self.replies(list(commands))
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return replies

    async def replies(self, commands: list[tuple[Arg, ...]]) -> list[Any]:
        """Send ``commands`` in one write; each one's reply or error (as an exception object).
        Raises only when no connection could be opened, so nothing was sent."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connect()
        futures = [protocol.send(pack(c)) for c in commands]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    async def run(self, script: Script, keys: tuple[Arg, ...], args: tuple[Arg, ...]) -> Any:
        """EVALSHA, loading the script (EVAL) the first time a server does not know it."""
        try:
            return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.call("EVAL", script.source, len(keys), *keys, *args)

    async def load(self, script: Script) -> None:
        """SCRIPT LOAD: for pipelines that run a script by its SHA1 alone."""
        await self.call("SCRIPT", "LOAD", script.source)

    async def nodes(self) -> list[Endpoint]:
        """Every server this client's data lives on: here, its one endpoint."""
        return [self._endpoint]

    async def aclose(self) -> None:
        self._closed = True
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None

    async def _connect(self) -> _Protocol:
        if self._closed:
            raise RedisConnectionError("the client is closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            current = self._protocol
            if current is not None and current.lost is None:
                return current
            protocol = await self._open()
            self._protocol = protocol
            return protocol

    async def _open(self) -> _Protocol:
        timeout = self._timeout
        protocol = await open_connection(self._endpoint, lambda: _Protocol(timeout), timeout)
        try:
            for command in self._endpoint.handshake():
                await protocol.send(pack(command))
        except BaseException:
            protocol.close()
            raise
        return protocol

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint


P = TypeVar("P", bound=asyncio.Protocol)


async def open_connection(endpoint: Endpoint, factory: Callable[[], P], limit: float) -> P:
    """A connection to ``endpoint`` (TCP, TLS or a unix socket) driven by ``factory()``'s
    protocol, within ``limit`` seconds; raises redis-py's ConnectionError or TimeoutError."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(limit):
            if endpoint.path is not None:
                _, protocol = await loop.create_unix_connection(factory, endpoint.path)
            else:
                context = ssl.create_default_context() if endpoint.tls else None
                _, protocol = await loop.create_connection(
                    factory, endpoint.host or "localhost", endpoint.port, ssl=context
                )
    except TimeoutError as exc:
        metrics.REDIS_ERRORS.inc()
        raise RedisTimeoutError(f"cannot connect to Redis in {limit} s") from exc
    except OSError as exc:
        metrics.REDIS_ERRORS.inc()
        raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
    return protocol
