"""Routing of each message to its handler, and what every handler shares.

One :class:`Dispatcher` per connection. It decides nothing about message order or acks (the
:class:`~server.protocol.session.Session` does); it performs the I/O the session cannot. The
handlers live by what they serve: :mod:`~server.gateway.reads` (fetch, subscribe, snapshots),
:mod:`~server.gateway.writes` (submit, undo, redo), :mod:`~server.gateway.presence_messages`
and :mod:`~server.gateway.queries`. Every message naming a dashboard is checked against the
user's role, and a dashboard the user cannot see is answered exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.access.cache import Miss
from server.core import log
from server.core.codes import CloseCode, Code
from server.core.errors import TandemError
from server.core.ids import DashboardId, UserId
from server.core.retry import retrying
from server.core.submission import Committed
from server.gateway import presence_messages, queries, reads, writes
from server.gateway.auth import session_for_token
from server.gateway.limits import LEASE_RENEWAL, TokenBucket
from server.gateway.presence import PresenceGuard
from server.gateway.services import Link, Services
from server.gateway.standing import Standing
from server.protocol import message as m
from server.protocol.errors import ProtocolError, not_found
from server.protocol.names import echo
from server.protocol.session import Output, Session
from server.store.model import Role

_log = log.get(__name__)

T = TypeVar("T")


class Dispatcher:
    def __init__(self, session: Session, services: Services, link: Link) -> None:
        self.session = session
        self.services = services
        self.link = link
        self.hub = services.hub
        settings = services.settings
        now = time.monotonic()
        rate = settings.ops_per_second_per_connection
        self.ops_bucket = TokenBucket(rate, rate, now)
        self.presence_bucket = TokenBucket(rate, rate, now)
        self.listeners: dict[DashboardId, Callable[[], None]] = {}
        self.presence_listeners: dict[DashboardId, Callable[[], None]] = {}
        self.queries = queries.LiveQueries(weakref.proxy(self))  # no cycle (see Connection)
        self.standing = Standing(session, link, self.queries)
        self.presence = PresenceGuard(self.hub, settings)
        self.guest = False  # a share link's guest: one dashboard, and nothing to create

    # -- authentication --------------------------------------------------------------------

    async def authenticate(self, token: str, source: str) -> bool:
        """Check a token; on failure the connection is closed (4001 or 4031)."""
        sessions = self.services.sessions
        live = await self.patiently(lambda: session_for_token(sessions, token), "auth")
        if live is None:
            _log.info("ws.auth_failed", source=source, ip=self.link.ip)
            await self.services.failed_auth.failed(self.link.ip, f"websocket-{source}")
            self.link.error(
                ProtocolError(
                    Code.UNAUTHENTICATED,
                    "invalid or expired token",
                    echo={"a": "auth"},
                    close_code=CloseCode.UNAUTHENTICATED,
                )
            )
            return False
        user = live.user_id
        limiter = self.services.connection_limiter
        connection_id = self.session.connection_id
        if not await self.patiently(lambda: limiter.acquire(user, connection_id), "lease"):
            self.link.error(
                ProtocolError(
                    Code.TOO_MANY_CONNECTIONS,
                    f"at most {self.services.settings.connections_per_user} connections per user",
                    echo={"a": "auth"},
                    close_code=CloseCode.TOO_MANY_CONNECTIONS,
                )
            )
            return False
        for reply in self.session.authenticated_as(user):
            self.link.send(reply)
        self.standing.session_id = live.id
        self.guest = live.guest
        self.link.authenticated()
        self.services.revalidator.add(self.standing)
        self.link.spawn(self._renew_lease(user), "ws.lease")
        _log.info("ws.authenticated", user=str(user), source=source)
        return True

    async def _renew_lease(self, user: UserId) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEWAL)
            try:
                await self.services.connection_limiter.renew(user, self.session.connection_id)
            except TandemError as exc:
                _log.warning("ws.lease_renewal_failed", error=exc.code)

    def patiently(self, work: Callable[[], Awaitable[T]], what: str) -> Awaitable[T]:
        """``work()``, retried through an outage for as long as the submit deadline lasts."""
        return retrying(work, within=self.services.settings.submit_timeout, what=what)

    @property
    def user(self) -> UserId:
        assert self.session.user_id is not None
        return self.session.user_id

    async def role(self, dashboard: DashboardId, where: dict[str, object]) -> Role:
        """The user's role on ``dashboard``; one they lack is answered as not found."""
        role = await self.role_or_none(dashboard)
        if role is None:
            raise not_found(where)
        return role

    async def role_or_none(self, dashboard: DashboardId) -> Role | None:
        """The user's role on ``dashboard``; None: no access, or no such dashboard."""
        cached = self.services.roles.cached(dashboard, self.user)
        if not isinstance(cached, Miss):
            return cached
        roles, user = self.services.roles, self.user
        return await self.patiently(lambda: roles.role(dashboard, user), "role")

    # -- dispatch --------------------------------------------------------------------------

    async def handle(self, message: m.Message) -> None:
        """Act on one message; raises ProtocolError or TandemError for the client."""
        replies = self.session.admit(message)
        if replies is not None:
            for reply in replies:
                self.link.send(reply)
            return
        handler = _HANDLERS.get(type(message))
        if handler is None:  # every action has a handler; a guard for new message types
            raise ProtocolError(Code.INVALID_MESSAGE, "unsupported action", echo=echo(message))
        await handler(self, message)

    # -- the op stream ---------------------------------------------------------------------

    def on_op(self, committed: Committed) -> None:
        self.emit(self.session.op_committed(committed))

    def emit(self, out: Output, *, asked: bool = False) -> None:
        """Send an output of the session: as replies when the client ``asked`` for it."""
        for message in out.messages:
            if asked:
                self.link.send(message)
            else:
                self.link.push(message)

    def unlisten(self, dashboard: DashboardId) -> None:
        unlisten = self.listeners.pop(dashboard, None)
        if unlisten is not None:
            unlisten()
        self._unwatch(dashboard)

    def unlisten_presence(self, dashboard: DashboardId) -> None:
        unlisten = self.presence_listeners.pop(dashboard, None)
        if unlisten is not None:
            unlisten()
        self._unwatch(dashboard)

    def _unwatch(self, dashboard: DashboardId) -> None:
        if dashboard not in self.listeners and dashboard not in self.presence_listeners:
            self.standing.unwatch(dashboard)

    # -- end -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every stream and clear this client's presences."""
        self.services.revalidator.discard(self.standing)
        self.standing.end()
        for dashboard in list(self.listeners):
            self.unlisten(dashboard)
        for dashboard in list(self.presence_listeners):
            self.unlisten_presence(dashboard)
        for update in self.session.closing():
            try:
                await self.hub.publish_presence(update)
            except TandemError as exc:
                _log.warning("presence.clear_failed", error=exc.code)
        if self.session.user_id is not None:
            try:
                await self.services.connection_limiter.release(
                    self.session.user_id, self.session.connection_id
                )
            except TandemError as exc:
                _log.warning("ws.release_failed", error=exc.code)


async def _auth(d: Dispatcher, message: m.Auth) -> None:
    await d.authenticate(message.token, "message")


_HANDLERS: dict[type, Callable[[Dispatcher, Any], Awaitable[None]]] = {
    m.Auth: _auth,
    m.Fetch: reads.fetch,
    m.Subscribe: reads.subscribe,
    m.Unsubscribe: reads.unsubscribe,
    m.BulkFetch: reads.bulk,
    m.BulkSubscribe: reads.bulk,
    m.BulkUnsubscribe: reads.bulk_unsubscribe,
    m.SnapshotFetch: reads.snapshot_fetch,
    m.SnapshotFetchAt: reads.snapshot_fetch,
    m.Submit: writes.submit,
    m.Undo: writes.revert,
    m.Redo: writes.revert,
    m.PresenceSend: presence_messages.send,
    m.PresenceSubscribe: presence_messages.subscribe,
    m.PresenceUnsubscribe: presence_messages.unsubscribe,
    m.PresenceRequest: presence_messages.request,
    m.QueryFetch: queries.query,
    m.QuerySubscribe: queries.query,
    m.QueryUnsubscribe: queries.unsubscribe,
}
