"""A real gateway on an ephemeral port (uvicorn in this event loop), and a small JSON client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ot.dashboard.document import new_document
from server.app import Running, create_app, uvicorn_options
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.gateway.auth import issue_token

TIMEOUT = 10.0


@dataclass
class Gateway:
    url: str
    port: int
    services: Running

    async def user(self, name: str | None = None) -> tuple[UserId, str]:
        """A new user and a session token for it."""
        name = name or f"u{uuid4().hex[:12]}"
        user_id = await self.services.accounts.create_user(f"{name}@example.com", name)
        return user_id, await issue_token(self.services.accounts, user_id)

    async def dashboard(self, owner: UserId, title: str = "Ops", **roles: UserId) -> str:
        head = await self.services.store.create_dashboard(
            owner_id=owner, title=title, document=new_document(title)
        )
        for role, user_id in roles.items():
            await self.services.access.add_collaborator(head.dashboard_id, user_id, role)
        return str(head.dashboard_id)

    async def document(self, doc: str) -> tuple[int, Any]:
        snapshot = await self.services.store.load(DashboardId(UUID(doc)))
        return snapshot.version, snapshot.document


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
        **uvicorn_options(settings),
    )  # fmt: skip
    server = uvicorn.Server(config)
    # Ctrl-C should stop the test run, not just this guest server.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Gateway(f"ws://127.0.0.1:{port}/ws", port, app.state.services)
    finally:
        server.should_exit = True
        await task


@dataclass
class Client:
    ws: ClientConnection
    init: dict[str, Any]
    id: str = ""  # the client id the server's handshake reply gave (ops' src)
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, within: float = TIMEOUT) -> dict[str, Any]:
        if self.backlog:
            return self.backlog.pop(0)
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        return message

    async def expect(
        self, match: Callable[[dict[str, Any]], bool], within: float = TIMEOUT
    ) -> dict[str, Any]:
        """The first message that matches; others received meanwhile stay for later recv()."""
        for i, message in enumerate(self.backlog):
            if match(message):
                return self.backlog.pop(i)
        skipped: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(within):
                while True:
                    message = json.loads(await self.ws.recv())
                    if match(message):
                        return message  # type: ignore[no-any-return]
                    skipped.append(message)
        finally:
            self.backlog.extend(skipped)

    async def request(self, message: dict[str, Any], within: float = TIMEOUT) -> dict[str, Any]:
        """Send, and return the reply with the same action (and doc / id when given)."""
        await self.send(message)

        # Replies name their request by id (queries, snapshots), else by doc or channel.
        keys = ("id",) if "id" in message and message["a"] != "p" else ("d", "ch")

        def same(reply: dict[str, Any]) -> bool:
            return reply.get("a") == message["a"] and all(
                reply.get(k) == message[k] for k in keys if k in message
            )

        return await self.expect(same, within)

    async def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` (normally nothing)."""
        got = list(self.backlog)
        self.backlog.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    got.append(json.loads(await self.ws.recv()))
        return got

    async def closed(self, within: float = TIMEOUT) -> tuple[int | None, str]:
        """Read until the server closes; its close code and reason."""
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(within):
                while True:
                    self.backlog.append(json.loads(await self.ws.recv()))
        await self.ws.wait_closed()
        return self.ws.close_code, self.ws.close_reason or ""

    async def op(self, doc: str, version: int, op: list[dict[str, Any]]) -> dict[str, Any]:
        """Submit and return the reply (ack or error) for this seq."""
        self.seq += 1
        seq = self.seq
        await self.send(
            {"a": "op", "c": "dashboards", "d": doc, "v": version, "seq": seq, "op": op}
        )
        return await self.expect(lambda m: m.get("a") == "op" and m.get("seq") == seq
                                 and m.get("src") == self.id and "op" not in m)  # fmt: skip

    async def close(self) -> None:
        await self.ws.close()


async def open_client(
    url: str,
    token: str | None = None,
    *,
    handshake: bool = True,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> Client:
    ws = await connect(
        url, origin=origin, additional_headers=headers, open_timeout=TIMEOUT, max_size=2**24
    )  # type: ignore[arg-type]
    init = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert init["a"] == "init"
    client = Client(ws, init, id=init["id"])
    if token is not None:
        await client.send({"a": "auth", "token": token})
        reply = await client.expect(lambda m: m.get("a") == "auth")
        assert "error" not in reply, reply
    if handshake:
        await client.send({"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2})
        if token is not None:
            client.id = (await client.expect(lambda m: m.get("a") == "hs"))["id"]
    return client


async def eventually(condition: Callable[[], bool], within: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds (polling), or fail."""
    deadline = time.monotonic() + within
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


def title_op(old: str, new: str) -> list[dict[str, Any]]:
    return [{"p": ["title"], "od": old, "oi": new}]
