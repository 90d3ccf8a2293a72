"""What a gateway connection needs from the rest of its process, as interfaces.

The running app (:mod:`server.app`) fills :class:`Services` with the real hub and stores; each
connection gives its :class:`~server.gateway.dispatch.Dispatcher` a :class:`Link` back to itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from server.access.changes import AccessChange
from server.access.revalidate import Revalidator
from server.access.roles import Roles
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.core.submission import Hub
from server.gateway.audit import Audit, FailedAuthAudit
from server.gateway.auth import SessionStore
from server.gateway.limits import ConnectionLimiter, UserRateLimiter
from server.history.undo import UndoResult
from server.protocol.errors import ProtocolError
from server.protocol.outgoing import Out


class Catalog(Protocol):
    async def dashboards_for(
        self,
        user_id: UserId,
        *,
        title_contains: str | None = None,
        search: str | None = None,
        limit: int = 50,
        skip: int = 0,
    ) -> list[Any]: ...

    async def set_archived(self, dashboard_id: DashboardId, archived: bool = True) -> None: ...


class History(Protocol):
    """Per-user undo and redo through the sequencer (:class:`server.history.undo.UserUndo`)."""

    async def undo(self, dashboard: DashboardId, user: UserId) -> UndoResult: ...

    async def redo(self, dashboard: DashboardId, user: UserId) -> UndoResult: ...


@dataclass(frozen=True)
class Services:
    """What every connection of a gateway process shares."""

    settings: Settings
    hub: Hub
    sessions: SessionStore
    roles: Roles
    revalidator: Revalidator
    catalog: Catalog
    audit: Audit
    failed_auth: FailedAuthAudit
    own_origins: tuple[str, ...]  # server.gateway.auth.public_origin of the settings
    user_limiter: UserRateLimiter
    connection_limiter: ConnectionLimiter
    history: History | None = None  # None: undo / redo messages are refused
    # Tells every gateway of an access change (server.access.changes.announce, bound to the
    # process's Redis client and keys); None: changes reach others through the sweep only.
    announce: Callable[[AccessChange], Awaitable[None]] | None = None


class Link(Protocol):
    """The connection's side: sending, background work, closing."""

    ip: str | None

    def send(self, message: Out) -> None:
        """A reply to the client's request."""
        ...

    def push(self, message: Out) -> None:
        """Something the client did not ask for (broadcast ops, presence)."""
        ...

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None: ...

    def close(self, code: int, reason: str) -> None: ...

    def error(self, error: ProtocolError) -> None: ...

    def authenticated(self) -> None:
        """The client authenticated: it leaves the count of connections waiting to."""
        ...

    def strike(self, count: int) -> None:
        """Count ``count`` refusals toward the connection's error limit (they were answered
        inside one reply, such as a bulk fetch's per-dashboard errors)."""
        ...
