"""Access changes, announced to every gateway on one Redis channel.

Whoever changes a session, a user, a role, a share link or a dashboard's membership (the CLI,
the HTTP API) calls :func:`announce` after its transaction committed. It first forgets what the
change makes stale in the caches every process shares (:mod:`server.access.cache`), so the next
read anywhere sees the change; then every gateway process hears it (:mod:`server.access.revalidate`), drops the cache entries it names and re-checks the
open connections it affects. Pub/sub is at-most-once: a lost announcement is caught by the
periodic sweep, which also catches changes made directly in PostgreSQL.

| kind         | ``id``            | ``dashboard`` | re-checked                                   |
|--------------|-------------------|---------------|----------------------------------------------|
| `session`    | the session's id  | -             | connections of that session                  |
| `user`       | the user's id     | optional      | the user's connections (on that dashboard)   |
| `role`       | the user's id     | the dashboard | the user's connections watching it           |
| `share_link` | the link's id     | the dashboard | every connection watching the dashboard      |
| `dashboard`  | the dashboard's id| optional      | every connection watching the dashboard      |
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args
from uuid import UUID

import orjson

from server.access.cache import forget
from server.core.ids import DashboardId, UserId
from server.redis.keys import Keys

Kind = Literal["session", "user", "role", "share_link", "dashboard"]
KINDS: frozenset[str] = frozenset(get_args(Kind))


@dataclass(frozen=True)
class AccessChange:
    kind: Kind
    id: str
    dashboard: DashboardId | None = None

    def encode(self) -> bytes:
        return orjson.dumps({"kind": self.kind, "id": self.id, "dashboard": _text(self.dashboard)})

    @classmethod
    def decode(cls, data: bytes) -> AccessChange | None:
        """The change a message names; None for anything else (it is ignored)."""
        try:
            raw = orjson.loads(data)
            kind, ident, dashboard = raw["kind"], raw["id"], raw.get("dashboard")
            if kind not in KINDS or not isinstance(ident, str):
                return None
            board = None if dashboard is None else DashboardId(UUID(dashboard))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None
        return cls(kind, ident, board)

    @property
    def target(self) -> DashboardId | None:
        """The dashboard this change is about, when it names one."""
        if self.dashboard is not None:
            return self.dashboard
        if self.kind == "dashboard":
            ident = self.id_uuid
            return None if ident is None else DashboardId(ident)
        return None

    @property
    def id_uuid(self) -> UUID | None:
        """``id`` as a UUID (a user's, a session's, a dashboard's); None when it is not one."""
        try:
            return UUID(self.id)
        except ValueError:
            return None


class Publisher(Protocol):
    """A Redis client (redis-py's asyncio client will do)."""

    def publish(self, channel: str, message: bytes) -> Awaitable[Any]: ...

    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Awaitable[Any]: ...

    def set(self, name: str, value: bytes, *, px: int) -> Awaitable[Any]: ...


async def announce(
    redis: Publisher, keys: Keys, change: AccessChange, *, tokens: Iterable[bytes] = ()
) -> None:
    """Forget the cache entries ``change`` makes stale, then tell every gateway about it (call
    it after the change committed). ``tokens``: the SHA-256 of every session token the change
    ended (a session's, or all of a user's), whose cached sessions must go too."""
    ident = change.id_uuid
    user = UserId(ident) if ident is not None and change.kind in ("user", "role") else None
    await forget(
        redis, keys, dashboard=change.target, user=user, tokens=tokens,
        profile=user if change.kind == "user" else None,
    )  # fmt: skip
    await redis.publish(keys.access_channel(), change.encode())


def _text(dashboard: DashboardId | None) -> str | None:
    return None if dashboard is None else str(dashboard)
