"""The lean client (:class:`~server.redis.resp.Resp`) on a Redis Cluster: one pipelined
connection per master, each command sent to the master that owns its key's slot.

The slot map comes from ``CLUSTER SLOTS``. Replies that say a command did not run are retried
here, since retrying them cannot run anything twice:

- ``MOVED slot host:port``: the slot lives elsewhere now; the map is refreshed and the command
  goes to the new owner;
- ``ASK slot host:port``: the slot is being migrated; the command goes there once, after
  ``ASKING``;
- ``TRYAGAIN``, ``CLUSTERDOWN``, ``READONLY``, or no connection could be opened (a master
  being failed over): the map is refreshed and the command tried again a few times, a short
  pause apart. Still failing, the command raises redis-py's ``ConnectionError``, so callers
  treat it as the outage it is, under their own retry and deadline rules.

A command whose connection breaks after it was sent fails with ``ConnectionError`` as on a
single Redis (the map is refreshed for the next command): it may have run, and only its caller
knows whether running it again is safe. ``NOSCRIPT`` for a script this client has run or loaded
loads it on that master and runs the command again (it did not run).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.redis.resp import Arg, Endpoint, Resp, Script
from server.redis.slots import SLOTS, key_slot

Address = tuple[str, int]
_ATTEMPTS = 6
_PAUSE = 0.1  # seconds between attempts after a refusal: a failover takes a second or two
_UNAVAILABLE = ("TRYAGAIN", "CLUSTERDOWN", "READONLY", "MASTERDOWN", "LOADING")


def command_key(command: tuple[Arg, ...]) -> Arg | None:
    """The key that routes ``command``: EVAL/EVALSHA's first key, else the first argument;
    None for commands without a key (PUBLISH's channel routes it all the same)."""
    head = command[0]
    name = (head.decode() if isinstance(head, bytes) else str(head)).upper()
    if name in ("EVAL", "EVALSHA"):
        return command[3] if int(command[2]) > 0 else None
    if name in ("SCRIPT", "PING", "ASKING", "CLUSTER", "INFO") or len(command) < 2:
        return None
    return command[1]


class ClusterResp(Resp):
    """A :class:`Resp` that routes every command by slot (its own single connection unused)."""

    def __init__(self, seed: Endpoint, *, timeout: float = 5.0) -> None:
        if seed.db:
            raise ValueError("a Redis Cluster has only database 0")
        super().__init__(seed, timeout=timeout)
        self._seed = seed
        self._nodes: dict[Address, Resp] = {}
        self._slots: list[Address | None] = [None] * SLOTS
        self._scripts: dict[str, Script] = {}
        self._refreshing: asyncio.Lock | None = None
        self._generation = 0  # how many maps were read
        self._known: list[Address] = []  # every node the last map named, masters first

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0) -> ClusterResp:
        return cls(Endpoint.from_url(url), timeout=timeout)

    @property
    def endpoint(self) -> Endpoint:
        return self._seed

    async def call(self, *args: Arg) -> Any:
        reply = (await self._execute([args]))[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def replies(self, commands: list[tuple[Arg, ...]]) -> list[Any]:
        """As :meth:`Resp.replies` (and so :meth:`Resp.pipeline`): commands are grouped by
        master, one write to each."""
        return await self._execute(commands)

    async def run(self, script: Script, keys: tuple[Arg, ...], args: tuple[Arg, ...]) -> Any:
        self._scripts[script.sha] = script
        return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)

    async def load(self, script: Script) -> None:
        """SCRIPT LOAD on every master (and remembered, for a master that forgets it)."""
        self._scripts[script.sha] = script
        await self._mapped()
        masters = set(a for a in self._slots if a is not None)
        await asyncio.gather(
            *(self._node(a).call("SCRIPT", "LOAD", script.source) for a in masters)
        )

    async def aclose(self) -> None:
        self._closed = True
        nodes, self._nodes = list(self._nodes.values()), {}
        for node in nodes:
            await node.aclose()

    async def nodes(self) -> list[Endpoint]:
        """Every node of the cluster, masters first, then replicas, then the seed (if the map
        did not name it), from a map read afresh where a node answers (else the last one)."""
        with contextlib.suppress(RedisConnectionError):
            await self.refresh()
        seed = (self._seed.host or "localhost", self._seed.port)
        return [self._endpoint_of(a) for a in dict.fromkeys([*self._known, seed])]

    def slot_owner(self, slot: int) -> Address | None:
        """The master this client sends ``slot``'s commands to."""
        return self._slots[slot]

    async def _mapped(self) -> None:
        if not self._generation:
            await self.refresh(unless_read_since=0)

    async def refresh(self, *, unless_read_since: int | None = None) -> None:
        """Read the slot map from the first node that answers ``CLUSTER SLOTS`` (unless one was
        read since generation ``unless_read_since``, by a caller that went first)."""
        if self._closed:
            raise RedisConnectionError("the client is closed")
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            if unless_read_since is not None and self._generation > unless_read_since:
                return
            seed = (self._seed.host or "localhost", self._seed.port)
            candidates = [*dict.fromkeys([*set(a for a in self._slots if a), *self._nodes, seed])]
            problem: Exception = RedisConnectionError("no cluster node answered")
            for address in candidates:
                try:
                    reply = await self._node(address).call("CLUSTER", "SLOTS")
                except Exception as exc:
                    problem = exc
                    continue
                slots: list[Address | None] = [None] * SLOTS
                masters: list[Address] = []
                replicas: list[Address] = []
                for start, end, master, *copies in reply:
                    owner = _address(master, address[0])
                    masters.append(owner)
                    replicas += (_address(c, address[0]) for c in copies)
                    for slot in range(int(start), int(end) + 1):
                        slots[slot] = owner
                self._slots = slots
                self._known = [*dict.fromkeys([*masters, *replicas])]
                self._generation += 1
                return
            raise RedisConnectionError(f"cannot read the cluster's slot map: {problem}")

    def _node(self, address: Address) -> Resp:
        node = self._nodes.get(address)
        if node is None:
            node = self._nodes[address] = Resp(self._endpoint_of(address), timeout=self._timeout)
        return node

    def _endpoint_of(self, address: Address) -> Endpoint:
        """The seed's credentials and TLS, at another node's address."""
        return dataclasses.replace(self._seed, host=address[0], port=address[1], path=None)

    def _route(self, command: tuple[Arg, ...]) -> Address | None:
        key = command_key(command)
        if key is None:
            return next((a for a in self._slots if a is not None), None)
        return self._slots[key_slot(key if isinstance(key, bytes) else str(key))]

    async def _execute(self, commands: list[tuple[Arg, ...]]) -> list[Any]:
        await self._mapped()
        replies: list[Any] = [None] * len(commands)
        todo = list(range(len(commands)))
        asking: dict[int, Address] = {}
        for attempt in range(_ATTEMPTS):
            generation = self._generation
            groups: dict[Address, list[int]] = {}
            unowned = []
            for i in todo:
                address = asking.get(i) or self._route(commands[i])
                if address is None:
                    replies[i] = RedisConnectionError("no master owns this slot")
                    unowned.append(i)
                    continue
                groups.setdefault(address, []).append(i)
            sent = await asyncio.gather(
                *(
                    self._send(a, [commands[i] for i in group], asking)
                    for a, group in groups.items()
                ),
                return_exceptions=True,
            )
            asking = {}
            todo, stale, pause = unowned, bool(unowned), bool(unowned)
            for group, result in zip(groups.values(), sent, strict=True):
                if isinstance(result, BaseException):  # no connection: nothing was sent
                    todo += group
                    stale = pause = True
                    for i in group:
                        replies[i] = RedisConnectionError(f"cluster node unreachable: {result}")
                    continue
                for i, reply in zip(group, result, strict=True):
                    replies[i] = reply
                    again = self._again(commands[i], reply)
                    if again is None:
                        if isinstance(reply, RedisConnectionError | RedisTimeoutError):
                            stale = True
                        continue
                    todo.append(i)
                    kind, target = again
                    stale |= kind in ("MOVED", "UNAVAILABLE")
                    pause |= kind == "UNAVAILABLE"
                    if kind == "ASK" and target is not None:
                        asking[i] = target
                    elif kind == "MOVED" and target is not None:
                        self._slots[key_slot(_text(command_key(commands[i]) or b""))] = target
                    elif kind == "NOSCRIPT" and target is not None:
                        await self._node(target).call("SCRIPT", "LOAD", self._source(commands[i]))
            if stale:
                try:
                    await self.refresh(unless_read_since=generation)
                except RedisConnectionError:
                    pause = True
            if not todo:
                break
            if pause and attempt < _ATTEMPTS - 1:
                await asyncio.sleep(_PAUSE * (attempt + 1))
        for i in todo:
            if isinstance(replies[i], ResponseError) and not isinstance(replies[i], NoScriptError):
                replies[i] = RedisConnectionError(f"Redis Cluster unavailable: {replies[i]}")
        return replies

    async def _send(
        self, address: Address, commands: list[tuple[Arg, ...]], asking: dict[int, Address]
    ) -> list[Any]:
        node = self._node(address)
        if not asking:
            return await node.replies(commands)
        interleaved: list[tuple[Arg, ...]] = []
        for command in commands:
            interleaved += [("ASKING",), command]
        return (await node.replies(interleaved))[1::2]

    def _again(self, command: tuple[Arg, ...], reply: Any) -> tuple[str, Address | None] | None:
        """Why and where to send ``command`` again (None: its reply stands)."""
        if isinstance(reply, NoScriptError):
            sha = _text(command[1]) if len(command) > 1 else ""
            if _text(command[0]).upper() == "EVALSHA" and sha in self._scripts:
                return "NOSCRIPT", self._route(command)
            return None
        if not isinstance(reply, ResponseError):
            return None
        message = str(reply)
        kind = message.split(" ", 1)[0]
        if kind in ("MOVED", "ASK"):
            host, _, port = message.split(" ")[2].rpartition(":")
            return kind, (host or self._seed.host or "localhost", int(port))
        if kind in _UNAVAILABLE:
            return "UNAVAILABLE", None
        return None

    def _source(self, command: tuple[Arg, ...]) -> str:
        return self._scripts[_text(command[1])].source


def _address(node: list[Any], default_host: str) -> Address:
    """A node in a ``CLUSTER SLOTS`` reply (``[host, port, id, ...]``; an empty host is the
    answering node's own)."""
    return (node[0].decode() if node[0] else default_host, int(node[1]))


def _text(value: Arg) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
