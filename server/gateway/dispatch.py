"""What each message does: authorise it against the dashboard role, then call the hub or store.

One :class:`Dispatcher` per connection. It decides nothing about message order or acks (the
:class:`~server.protocol.session.Session` does); it performs the I/O the session cannot. Every
message naming a dashboard is checked against the user's role, and a dashboard the user cannot
see is answered exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from server.access.roles import EDIT_ROLES, Miss
from server.core import log, metrics
from server.core.codes import CloseCode, Code
from server.core.errors import TandemError
from server.core.ids import DashboardId, UserId
from server.core.retry import retrying
from server.core.submission import Committed, PresenceUpdate, SubmitRecord
from server.gateway.auth import session_for_token
from server.gateway.limits import LEASE_RENEWAL, TokenBucket
from server.gateway.presence import PresenceGuard
from server.gateway.services import Link, Services
from server.gateway.standing import Standing
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError, not_found
from server.protocol.names import channel_dashboard, dashboard_id, echo
from server.protocol.outgoing import Out
from server.protocol.query import parse_query
from server.protocol.session import CatchUp, Output, Session
from server.store.model import Role

_log = log.get(__name__)

T = TypeVar("T")
JSON0_NAMES = frozenset({outgoing.JSON0_URI, "json0"})


class Dispatcher:
    def __init__(self, session: Session, services: Services, link: Link) -> None:
        self.session = session
        self.services = services
        self.link = link
        self.hub = services.hub
        settings = services.settings
        now = time.monotonic()
        rate = settings.ops_per_second_per_connection
        self._ops = TokenBucket(rate, rate, now)
        self._presence = TokenBucket(rate, rate, now)
        self._listeners: dict[DashboardId, Callable[[], None]] = {}
        self._presence_listeners: dict[DashboardId, Callable[[], None]] = {}
        self.standing = Standing(session, link)
        self.presence = PresenceGuard(self.hub, settings)

    # -- authentication --------------------------------------------------------------------

    async def authenticate(self, token: str, source: str) -> bool:
        """Check a token; on failure the connection is closed (4001 or 4031)."""
        sessions = self.services.sessions
        live = await self._patiently(lambda: session_for_token(sessions, token), "auth")
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
        if not await self._patiently(lambda: limiter.acquire(user, connection_id), "lease"):
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

    def _patiently(self, work: Callable[[], Awaitable[T]], what: str) -> Awaitable[T]:
        """``work()``, retried through an outage for as long as the submit deadline lasts."""
        return retrying(work, within=self.services.settings.submit_timeout, what=what)

    @property
    def user(self) -> UserId:
        assert self.session.user_id is not None
        return self.session.user_id

    async def _role(self, dashboard: DashboardId, where: dict[str, object]) -> Role:
        cached = self.services.roles.cached(dashboard, self.user)
        if isinstance(cached, Miss):
            roles, user = self.services.roles, self.user
            role = await self._patiently(lambda: roles.role(dashboard, user), "role")
        else:
            role = cached
        if role is None:
            raise not_found(where)
        return role

    # -- dispatch --------------------------------------------------------------------------

    async def handle(self, message: m.Message) -> None:
        """Act on one message; raises ProtocolError or TandemError for the client."""
        replies = self.session.admit(message)
        if replies is not None:
            for reply in replies:
                self.link.send(reply)
            return
        handler = self._handlers.get(type(message))
        if handler is None:  # every action has a handler; a guard for new message types
            raise ProtocolError(Code.INVALID_MESSAGE, "unsupported action", echo=echo(message))
        await handler(self, message)

    async def _auth(self, message: m.Auth) -> None:
        await self.authenticate(message.token, "message")

    async def _fetch(self, message: m.Fetch) -> None:
        where = echo(message)
        dashboard = dashboard_id(message.collection, message.doc, where)
        await self._role(dashboard, where)
        if message.version is None:
            snapshot = await self.hub.snapshot(dashboard)
            self.link.send(outgoing.doc_reply("f", message.doc, outgoing.snapshot_data(snapshot)))
            return
        for op in await self.hub.ops_since(dashboard, message.version):
            self.link.send(outgoing.op(message.doc, op))
        self.link.send(outgoing.doc_reply("f", message.doc))

    async def _subscribe(self, message: m.Subscribe) -> None:
        where = echo(message)
        dashboard = dashboard_id(message.collection, message.doc, where)
        role = await self._role(dashboard, where)
        await self._subscribe_one(dashboard, role, message.doc, message.version, "s")

    async def _subscribe_one(
        self, dashboard: DashboardId, role: Role, doc: str, version: int | None, action: str
    ) -> Out | None:
        """Load, reply (unless bulk: then the snapshot data is returned), start the stream."""
        new = self.session.subscribe_started(dashboard, doc)
        try:
            if version is None:
                snapshot = await self.hub.snapshot(dashboard)
                data = outgoing.snapshot_data(snapshot)
                reply = outgoing.doc_reply(action, doc, data)
                out = self.session.subscribe_loaded(dashboard, reply, snapshot=snapshot)
                start = snapshot.version
            else:
                ops = await self.hub.ops_since(dashboard, version)
                data = None
                reply = outgoing.doc_reply(action, doc)
                out = self.session.subscribe_loaded(dashboard, reply, ops=ops, from_version=version)
                start = max([version, *(op.version + 1 for op in ops)])
        except BaseException:
            if self.session.subscribe_failed(dashboard):
                self._unlisten(dashboard)
            raise
        if action == "bs":  # the bulk reply carries the data for every doc at once
            out = Output(tuple(x for x in out.messages if x is not reply), out.catch_up)
        self._emit(out, asked=True)
        if new:
            # From the loaded version on: nothing committed meanwhile is missed or repeated.
            self._listeners[dashboard] = self.hub.listen(dashboard, self._on_op, from_version=start)
        self.standing.watch(dashboard, role)
        return data

    async def _unsubscribe(self, message: m.Unsubscribe) -> None:
        where = echo(message)
        dashboard = dashboard_id(message.collection, message.doc, where)
        if self.session.unsubscribed(dashboard):
            self._unlisten(dashboard)
        self.link.send(outgoing.doc_reply("u", message.doc))

    async def _bulk(self, message: m.BulkFetch | m.BulkSubscribe) -> None:
        where = echo(message)
        self._bulk_size(message.docs, where)
        action = message.action
        subscribe = isinstance(message, m.BulkSubscribe)
        if message.versions is None:
            data: dict[str, Out] = {}
            refused = 0
            for doc in message.docs:
                try:
                    dashboard = dashboard_id(message.collection, doc, where)
                    role = await self._role(dashboard, where)
                    if subscribe:
                        loaded = await self._subscribe_one(dashboard, role, doc, None, action)
                        assert loaded is not None
                        data[doc] = loaded
                    else:
                        data[doc] = outgoing.snapshot_data(await self.hub.snapshot(dashboard))
                except TandemError as exc:
                    data[doc] = {"error": {"code": exc.code, "message": exc.message}}
                    refused += 1
            self.link.send(outgoing.bulk_reply(action, data))
            if refused:  # each refused id counts like a refused message of its own
                self.link.strike(refused)
            return
        # The object form sends ops, and its reply cannot carry per-doc errors: every doc must
        # be readable or the whole request fails (telling nothing about which one).
        targets = []
        for doc, version in zip(message.docs, message.versions, strict=True):
            dashboard = dashboard_id(message.collection, doc, where)
            role = await self._role(dashboard, where)
            targets.append((dashboard, role, doc, version or 0))
        for dashboard, role, doc, version in targets:
            if subscribe:
                await self._subscribe_one(dashboard, role, doc, version, action)
            else:
                for op in await self.hub.ops_since(dashboard, version):
                    self.link.send(outgoing.op(doc, op))
        self.link.send(
            outgoing.bulk_done(action, dict(zip(message.docs, message.versions, strict=True)))
        )

    def _bulk_size(self, docs: tuple[str, ...], where: dict[str, object]) -> None:
        limit = self.services.settings.max_bulk_ids
        if len(docs) > limit:
            raise ProtocolError(
                Code.TOO_MANY_IDS, f"at most {limit} dashboards per bulk request", echo=where
            )

    async def _bulk_unsubscribe(self, message: m.BulkUnsubscribe) -> None:
        where = echo(message)
        self._bulk_size(message.docs, where)
        for doc in message.docs:
            try:
                dashboard = dashboard_id(message.collection, doc, where)
            except ProtocolError:
                continue
            if self.session.unsubscribed(dashboard):
                self._unlisten(dashboard)
        self.link.send(outgoing.bulk_done("bu", list(message.docs)))

    async def _snapshot_fetch(self, message: m.SnapshotFetch | m.SnapshotFetchAt) -> None:
        where = echo(message)
        dashboard = dashboard_id(message.collection, message.doc, where)
        await self._role(dashboard, where)
        if isinstance(message, m.SnapshotFetch):
            snapshot = await self.hub.snapshot(dashboard, version=message.version)
        else:
            at = None if message.timestamp is None else _moment(message.timestamp, where)
            snapshot = await self.hub.snapshot(dashboard, at=at)
        self.link.send(outgoing.snapshot_at(message.request_id, message.action, snapshot))

    # -- submits ---------------------------------------------------------------------------

    async def _submit(self, message: m.Submit) -> None:
        metrics.OPS_RECEIVED.inc()
        started = time.perf_counter()
        try:
            record = await self._admit_submit(message)
        except (ProtocolError, TandemError) as exc:
            metrics.OPS_REJECTED.labels(exc.code).inc()
            raise
        self.link.spawn(self._run_submit(record, started), "ws.submit")

    async def _admit_submit(self, message: m.Submit) -> SubmitRecord:
        where = echo(message)
        dashboard = dashboard_id(message.collection, message.doc, where)
        role = await self._role(dashboard, where)
        if role not in EDIT_ROLES:
            raise ProtocolError(Code.FORBIDDEN, f"a {role} cannot edit this dashboard", echo=where)
        if message.create is not None and message.create.get("type") not in JSON0_NAMES:
            raise ProtocolError(Code.INVALID_OP, "dashboards are json0 documents", echo=where)
        limiter = self.services.user_limiter
        if (
            self.session.pending_submits() >= self.services.settings.max_pending_submits
            or not self._ops.take(time.monotonic())
            or not (
                limiter.allow_leased(self.user)
                or await self._patiently(lambda: limiter.allow(self.user), "rate")
            )
        ):
            raise ProtocolError(Code.RATE_LIMITED, "too many ops; slow down", echo=where)
        return self.session.submit_record(message, dashboard)

    async def _run_submit(self, record: SubmitRecord, started: float) -> None:
        try:
            committed = await self.hub.submit(record)
        except TandemError as exc:
            metrics.OPS_REJECTED.labels(exc.code).inc()
            for reply in self.session.submit_failed(record, exc.code, exc.message):
                self.link.send(reply)
            _log.info("op.refused", dashboard=str(record.dashboard_id), code=exc.code)
            return
        seconds = time.perf_counter() - started
        metrics.ACK_SECONDS.observe(seconds)
        # The one summary line per submit (filtered out, at no cost, above debug).
        _log.debug(
            "op.acked",
            dashboard=str(record.dashboard_id),
            version=committed.version,
            ms=round(seconds * 1000, 2),
        )
        out = self.session.submit_committed(record, committed)
        for reply in out.messages:
            self.link.send(reply)
        if out.catch_up is None:
            return
        if out.catch_up.deferred:
            await self._catch_up(out.catch_up)
            return
        ops = await self._ops_or_nothing(out.catch_up)
        for reply in self.session.submit_ops_loaded(record, ops):
            self.link.send(reply)

    async def _revert(self, message: m.Undo) -> None:
        where = echo(message)
        dashboard = dashboard_id(message.collection, message.doc, where)
        if await self._role(dashboard, where) not in EDIT_ROLES:
            raise ProtocolError(Code.FORBIDDEN, "only editors undo and redo", echo=where)
        history = self.services.history
        if history is None:
            raise ProtocolError(Code.UNKNOWN_ACTION, "this server has no undo", echo=where)
        if not self._ops.take(time.monotonic()):
            raise ProtocolError(Code.RATE_LIMITED, "too many ops; slow down", echo=where)
        redo = isinstance(message, m.Redo)
        user = self.user

        async def run() -> None:
            try:
                done = await (history.redo if redo else history.undo)(dashboard, user)
            except TandemError as exc:
                self.link.send(outgoing.error(where, exc.code, exc.message))
                return
            self.link.send(outgoing.reverted(message.request_id, message.action, message.doc,
                                             done.version, done.applied, done.reason))  # fmt: skip

        self.link.spawn(run(), "ws.undo")

    # -- the op stream ---------------------------------------------------------------------

    def _on_op(self, committed: Committed) -> None:
        self._emit(self.session.op_committed(committed))

    def _emit(self, out: Output, *, asked: bool = False) -> None:
        """Send an output of the session: as replies when the client ``asked`` for it."""
        for message in out.messages:
            if asked:
                self.link.send(message)
            else:
                self.link.push(message)
        if out.catch_up is not None:
            self.link.spawn(self._catch_up(out.catch_up), "ws.catch_up")

    async def _catch_up(self, catch_up: CatchUp) -> None:
        if catch_up.deferred:
            await asyncio.sleep(self.services.settings.catch_up_grace)
            if not self.session.claim(catch_up):
                return
        ops = await self._ops_or_nothing(catch_up)
        self._emit(self.session.ops_loaded(catch_up.dashboard_id, ops))

    async def _ops_or_nothing(self, catch_up: CatchUp) -> list[Committed]:
        """The ops a catch-up needs; none when the log cannot give them (the client refetches
        on the gap it then sees, as ShareDB's client does)."""
        try:
            return await self.hub.ops_since(catch_up.dashboard_id, catch_up.from_version)
        except TandemError as exc:
            _log.warning("ws.catch_up_failed", dashboard=str(catch_up.dashboard_id), error=exc.code)
            return []

    def _unlisten(self, dashboard: DashboardId) -> None:
        unlisten = self._listeners.pop(dashboard, None)
        if unlisten is not None:
            unlisten()
        self._unwatch(dashboard)

    # -- presence --------------------------------------------------------------------------

    async def _presence_send(self, message: m.PresenceSend) -> None:
        where = echo(message)
        dashboard = channel_dashboard(message.channel, where)
        if message.doc is not None and (
            message.collection != outgoing.COLLECTION or message.doc != str(dashboard)
        ):
            raise ProtocolError(Code.INVALID_MESSAGE, "'c'/'d' do not match 'ch'", echo=where)
        await self._role(dashboard, where)
        if not self._presence.take(time.monotonic()):
            raise ProtocolError(Code.RATE_LIMITED, "too many presence updates", echo=where)
        self.presence.check(message.presence_id, message.value, where)
        metrics.PRESENCE_UPDATES.inc()
        max_lag = self.services.settings.presence_max_lag
        update = self.session.presence_update(message, dashboard, max_lag=max_lag)
        if await self.presence.admit(update, where):
            self.session.presence_published(update)
            await self.hub.publish_presence(update)
        self.link.send(outgoing.presence(update))

    async def _presence_subscribe(self, message: m.PresenceSubscribe) -> None:
        where = echo(message)
        dashboard = channel_dashboard(message.channel, where)
        role = await self._role(dashboard, where)
        if self.session.presence_subscribed(dashboard):
            self._presence_listeners[dashboard] = self.hub.listen_presence(
                dashboard, self._on_presence
            )
            self.standing.watch(dashboard, role)
        current = await self.hub.presence_snapshot(dashboard)
        self.link.send(outgoing.presence_subscription("ps", message.channel, message.seq))
        for reply in self.session.presence_snapshot(dashboard, current):
            self.link.send(reply)

    async def _presence_unsubscribe(self, message: m.PresenceUnsubscribe) -> None:
        dashboard = channel_dashboard(message.channel, echo(message))
        was, gone = self.session.presence_unsubscribed(dashboard)
        if was:
            self._unlisten_presence(dashboard)
        self.presence.released(gone)
        for update in gone:
            await self.hub.publish_presence(update)
        self.link.send(outgoing.presence_subscription("pu", message.channel, message.seq))

    async def _presence_request(self, message: m.PresenceRequest) -> None:
        where = echo(message)
        dashboard = channel_dashboard(message.channel, where)
        await self._role(dashboard, where)
        current = await self.hub.presence_snapshot(dashboard)
        for reply in self.session.presence_snapshot(dashboard, current):
            self.link.send(reply)

    def _on_presence(self, update: PresenceUpdate) -> None:
        for message in self.session.presence_received(update):
            self.link.push(message)

    def _unwatch(self, dashboard: DashboardId) -> None:
        if dashboard not in self._listeners and dashboard not in self._presence_listeners:
            self.standing.unwatch(dashboard)

    def _unlisten_presence(self, dashboard: DashboardId) -> None:
        unlisten = self._presence_listeners.pop(dashboard, None)
        if unlisten is not None:
            unlisten()
        self._unwatch(dashboard)

    # -- queries ---------------------------------------------------------------------------

    async def _query(self, message: m.QueryFetch | m.QuerySubscribe) -> None:
        where = echo(message)
        if message.collection != outgoing.COLLECTION:
            raise not_found(where)
        query = parse_query(message.query, echo=where)
        rows = await self._patiently(
            lambda: self.services.catalog.dashboards_for(
                self.user,
                title_contains=query.title,
                search=query.search,
                limit=query.limit,
                skip=query.skip,
            ),
            "query",
        )
        ids = [DashboardId(row.id) for row in rows]
        snapshots = await asyncio.gather(*(self.hub.snapshot(d) for d in ids))
        if isinstance(message, m.QuerySubscribe):
            self.session.query_subscribed(message.query_id)
        self.link.send(
            outgoing.query_results(
                message.action, message.query_id, zip((str(d) for d in ids), snapshots, strict=True)
            )
        )

    async def _query_unsubscribe(self, message: m.QueryUnsubscribe) -> None:
        self.link.send(self.session.query_unsubscribed(message.query_id))

    # -- end -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every stream and clear this client's presences."""
        self.services.revalidator.discard(self.standing)
        for dashboard in list(self._listeners):
            self._unlisten(dashboard)
        for dashboard in list(self._presence_listeners):
            self._unlisten_presence(dashboard)
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

    _handlers: ClassVar[dict[type, Callable[[Dispatcher, Any], Awaitable[None]]]] = {
        m.Auth: _auth,
        m.Fetch: _fetch,
        m.Subscribe: _subscribe,
        m.Unsubscribe: _unsubscribe,
        m.BulkFetch: _bulk,
        m.BulkSubscribe: _bulk,
        m.BulkUnsubscribe: _bulk_unsubscribe,
        m.Submit: _submit,
        m.SnapshotFetch: _snapshot_fetch,
        m.SnapshotFetchAt: _snapshot_fetch,
        m.Undo: _revert,
        m.Redo: _revert,
        m.PresenceSend: _presence_send,
        m.PresenceSubscribe: _presence_subscribe,
        m.PresenceUnsubscribe: _presence_unsubscribe,
        m.PresenceRequest: _presence_request,
        m.QueryFetch: _query,
        m.QuerySubscribe: _query,
        m.QueryUnsubscribe: _query_unsubscribe,
    }


def _moment(ms: int, where: dict[str, object]) -> datetime:
    """A snapshot request's ``ts`` (ms since the epoch) as a time; one no calendar holds is
    refused."""
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtocolError(
            Code.INVALID_MESSAGE, "'ts' is not a time (milliseconds since 1970)", echo=where
        ) from None
