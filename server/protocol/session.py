"""One connection's protocol state, without I/O.

The gateway feeds it what happened (a message was received, a subscription's snapshot loaded,
the hub delivered a committed op, a submit returned) and sends what it answers. The session
owns the rules that make the stock ShareDB client work:

- ``hs`` is answered only once the connection is authenticated, so a client never believes it
  is connected (and starts subscribing) before ``auth`` has been accepted;
- ops reach a subscribed client in version order, without gaps or duplicates, and the client's
  own op is acknowledged at its place in that order (ShareDB's client ignores an ack whose
  version is not the one it expects next). When the order has a gap the session asks for a
  catch-up (:class:`CatchUp`) and holds later ops until it arrives;
- a submit on a dashboard the client has not subscribed to is answered like ShareDB's agent:
  the ops it was transformed against first, then the ack;
- a client id (``src``, which ops are deduplicated by) is bound to its user: a reconnecting
  client keeps its previous id, but nobody can take another user's, which would let them make
  that user's next op look like a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.core.codes import Code
from server.core.ids import DashboardId, UserId
from server.core.oplog import Snapshot
from server.core.submission import Committed, SubmitRecord
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError
from server.protocol.names import bound_src, echo, src_belongs
from server.protocol.outgoing import COLLECTION, Out
from server.protocol.presence import PresenceState


@dataclass(frozen=True)
class CatchUp:
    """Fetch the committed ops from ``from_version`` and pass them to ``ops_loaded``.

    ``deferred``: the hub's stream is expected to deliver them by itself any moment; fetch only
    if, after a grace period, :meth:`Session.claim` says it has not.
    """

    dashboard_id: DashboardId
    from_version: int
    until_version: int | None = None
    deferred: bool = False


@dataclass(frozen=True)
class Output:
    messages: tuple[Out, ...] = ()
    catch_up: CatchUp | None = None


@dataclass
class _Subscription:
    doc: str
    next_version: int | None = None  # None while the first snapshot or ops are loading
    held: list[Committed] = field(default_factory=list)
    catching_up: bool = False


@dataclass
class _Pending:
    record: SubmitRecord
    doc: str
    committed: Committed | None = None


class Session(PresenceState):
    def __init__(self, connection_id: str, *, user_id: UserId | None = None) -> None:
        """``connection_id``: random hex, at least 24 characters."""
        super().__init__()
        self.connection_id = connection_id
        # The id ops and presence are attributed to. Until authentication it is unbound (only
        # the greeting shows it); then it is bound to the user, or is the previous id the
        # client asked for in its handshake if that one is the user's (ShareDB semantics: its
        # in-flight ops carry it).
        self.src = connection_id
        self.user_id = user_id
        if user_id is not None:
            self.src = bound_src(user_id, connection_id)
        self._asked_src: str | None = None
        self._held_handshake = False
        self._subs: dict[DashboardId, _Subscription] = {}
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._queries: set[int] = set()

    # -- connection ------------------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def greeting(self) -> Out:
        return outgoing.greeting("init", self.src)

    def admit(self, message: m.Message) -> list[Out] | None:
        """Answer what needs no I/O; None: the gateway handles the message.

        Raises ProtocolError for a message this connection may not send now.
        """
        if isinstance(message, m.Handshake):
            self._asked_src = message.client_id
            if self.user_id is None:
                self._held_handshake = True
                return []
            self._choose_src(self.user_id)
            return [outgoing.greeting("hs", self.src)]
        if isinstance(message, m.Auth):
            if self.authenticated:
                raise ProtocolError(
                    Code.INVALID_MESSAGE, "already authenticated", echo={"a": "auth"}
                )
            return None
        if not self.authenticated:
            raise ProtocolError(
                Code.UNAUTHENTICATED, "send {a:'auth', token} first", echo=echo(message)
            )
        if isinstance(message, m.Ping):
            return [outgoing.pong()]
        return None

    def authenticated_as(self, user_id: UserId) -> list[Out]:
        self.user_id = user_id
        self._choose_src(user_id)
        replies = [outgoing.auth_ok(str(user_id))]
        if self._held_handshake:
            self._held_handshake = False
            replies.append(outgoing.greeting("hs", self.src))
        return replies

    def _choose_src(self, user_id: UserId) -> None:
        asked = self._asked_src
        if asked is not None and src_belongs(asked, user_id):
            self.src = asked
        elif not src_belongs(self.src, user_id):
            self.src = bound_src(user_id, self.connection_id)

    # -- subscriptions ---------------------------------------------------------------------

    def is_subscribed(self, dashboard: DashboardId) -> bool:
        return dashboard in self._subs

    def subscribed(self) -> list[DashboardId]:
        return list(self._subs)

    def subscribe_started(self, dashboard: DashboardId, doc: str) -> bool:
        """Hold the stream until the subscription's data is loaded. True: a new listener is
        needed; False: the dashboard was already subscribed (ShareDB re-subscribes in place)."""
        sub = self._subs.get(dashboard)
        if sub is None:
            self._subs[dashboard] = _Subscription(doc=doc)
            return True
        sub.next_version = None
        return False

    def subscribe_loaded(
        self,
        dashboard: DashboardId,
        reply: Out,
        *,
        snapshot: Snapshot | None = None,
        ops: list[Committed] | None = None,
        from_version: int | None = None,
    ) -> Output:
        """The subscription's data: a snapshot (sent in ``reply``), or ``ops`` from ``from_version``."""
        sub = self._subs.get(dashboard)
        if sub is None:  # unsubscribed while loading
            return Output((reply,))
        out: list[Out] = []
        if snapshot is not None:
            sub.next_version = snapshot.version
            out.extend(self._acks_below(dashboard, snapshot.version))
            out.append(reply)
        else:
            sub.next_version = from_version if from_version is not None else 0
            for op in ops or []:
                out.extend(self._deliver(dashboard, sub, op))
            out.append(reply)
        held, sub.held = sub.held, []
        catch_up = None
        for op in held:
            more, catch_up = self._stream(dashboard, sub, op)
            out.extend(more)
        return Output(tuple(out), catch_up)

    def subscribe_failed(self, dashboard: DashboardId) -> bool:
        """Forget a subscription whose load failed; True: remove its listener."""
        return self._subs.pop(dashboard, None) is not None

    def unsubscribed(self, dashboard: DashboardId) -> bool:
        return self._subs.pop(dashboard, None) is not None

    def op_committed(self, committed: Committed) -> Output:
        """An op from the hub's stream for a dashboard this connection listens to."""
        sub = self._subs.get(committed.dashboard_id)
        if sub is None:
            return Output()
        if sub.next_version is None or sub.catching_up:
            sub.held.append(committed)
            return Output()
        out, catch_up = self._stream(committed.dashboard_id, sub, committed)
        return Output(tuple(out), catch_up)

    def ops_loaded(self, dashboard: DashboardId, ops: list[Committed]) -> Output:
        """The result of a :class:`CatchUp` for a subscription (possibly empty, on failure)."""
        sub = self._subs.get(dashboard)
        if sub is None or sub.next_version is None:
            return Output()
        sub.catching_up = False
        out: list[Out] = []
        for op in ops:
            out.extend(self._deliver(dashboard, sub, op))
        held, sub.held = sorted(sub.held, key=lambda c: c.version), []
        for op in held:
            # After a catch-up the order is as good as the log makes it: ops still past a gap
            # go out anyway, and the client fetches what it lacks (it does on any gap).
            if op.version >= sub.next_version:
                sub.next_version = op.version
            out.extend(self._deliver(dashboard, sub, op))
        return Output(tuple(out))

    def claim(self, catch_up: CatchUp) -> bool:
        """For a deferred catch-up, after its grace period: True if the stream has still not
        passed ``until_version`` (the subscription then holds new ops until ``ops_loaded``)."""
        sub = self._subs.get(catch_up.dashboard_id)
        if sub is None or sub.next_version is None or sub.catching_up:
            return False
        if catch_up.until_version is not None and sub.next_version > catch_up.until_version:
            return False
        sub.catching_up = True
        return True

    def _stream(
        self, dashboard: DashboardId, sub: _Subscription, op: Committed
    ) -> tuple[list[Out], CatchUp | None]:
        assert sub.next_version is not None
        if op.version > sub.next_version:
            sub.held.append(op)
            if sub.catching_up:
                return [], None
            sub.catching_up = True
            return [], CatchUp(dashboard, sub.next_version, op.version)
        return self._deliver(dashboard, sub, op), None

    def _deliver(self, dashboard: DashboardId, sub: _Subscription, op: Committed) -> list[Out]:
        """Send ``op`` if it is the next version; the client's own op becomes its ack."""
        assert sub.next_version is not None
        pending = self._pending.get((op.src, op.seq))
        own = pending is not None and pending.record.dashboard_id == dashboard
        if op.version != sub.next_version:
            if own and op.version < sub.next_version:
                # Already inside the snapshot the client was sent: acknowledge, do not resend.
                return [self._ack(pending, op)] if pending else []
            return []
        sub.next_version = op.version + 1
        if own and pending is not None:
            return [self._ack(pending, op)]
        return [outgoing.op(sub.doc, op)]

    def _acks_below(self, dashboard: DashboardId, version: int) -> list[Out]:
        """Acks for submits already committed inside a snapshot about to be sent."""
        acks = []
        for pending in list(self._pending.values()):
            c = pending.committed
            if c is not None and c.dashboard_id == dashboard and c.version < version:
                acks.append(self._ack(pending, c))
        return acks

    # -- submits ---------------------------------------------------------------------------

    def submit_record(self, message: m.Submit, dashboard: DashboardId) -> SubmitRecord:
        """The record for the hub; the submit is pending until acked or failed.

        A resubmitted op keeps the ``src`` of the connection it was first sent on, which must be
        one of this user's."""
        assert self.user_id is not None
        src = message.src
        if src is not None and src != self.src and not src_belongs(src, self.user_id):
            raise ProtocolError(
                Code.INVALID_MESSAGE,
                "'src' is not one of this user's client ids",
                echo=echo(message),
            )
        record = SubmitRecord(
            dashboard_id=dashboard,
            src=message.src or self.src,
            seq=message.seq,
            version=message.version if message.version is not None else 0,
            user_id=self.user_id,
            op=message.op,
            dop=message.dop,
            create=message.create,
            delete=message.delete,
        )
        self._pending[(record.src, record.seq)] = _Pending(record=record, doc=message.doc)
        return record

    def submit_committed(self, record: SubmitRecord, committed: Committed) -> Output:
        pending = self._pending.get((record.src, record.seq))
        if pending is None:  # acknowledged already, at its place in the subscription stream
            return Output()
        pending.committed = committed
        sub = self._subs.get(record.dashboard_id)
        if sub is not None:
            if sub.next_version is None:
                return Output()  # the subscription's load will place the ack
            if committed.version < sub.next_version:
                return Output((self._ack(pending, committed),))
            # The stream carries every op up to this one and will ack it in order; if it lags
            # (a dropped pub/sub message), the deferred catch-up fetches what it missed.
            return Output(
                catch_up=CatchUp(
                    record.dashboard_id, sub.next_version, committed.version, deferred=True
                )
            )
        if committed.version <= record.version or record.create is not None:
            return Output((self._ack(pending, committed),))
        return Output(catch_up=CatchUp(record.dashboard_id, record.version, committed.version))

    def submit_ops_loaded(self, record: SubmitRecord, ops: list[Committed]) -> list[Out]:
        """For a submit on an unsubscribed dashboard: the ops it was transformed against, then
        the ack (``ops`` may be empty when they could not be loaded)."""
        pending = self._pending.get((record.src, record.seq))
        if pending is None or pending.committed is None:
            return []
        committed = pending.committed
        if record.dashboard_id in self._subs:
            return []  # subscribed meanwhile: the stream places the ack
        out = [
            outgoing.op(pending.doc, op)
            for op in ops
            if record.version <= op.version < committed.version
        ]
        out.append(self._ack(pending, committed))
        return out

    def submit_failed(self, record: SubmitRecord, code: Code, text: str) -> list[Out]:
        pending = self._pending.pop((record.src, record.seq), None)
        doc = pending.doc if pending else str(record.dashboard_id)
        echo = {"a": "op", "c": COLLECTION, "d": doc, "v": record.version, "src": record.src}
        echo["seq"] = record.seq
        return [outgoing.error(echo, code, text)]

    def pending_submits(self) -> int:
        return len(self._pending)

    def _ack(self, pending: _Pending, committed: Committed) -> Out:
        record = pending.record
        self._pending.pop((record.src, record.seq), None)
        op = committed.op if record.dop is not None else None
        return outgoing.ack(pending.doc, committed.version, record.src, record.seq, op)

    def _sent_version(self, dashboard: DashboardId) -> int | None:
        sub = self._subs.get(dashboard)
        return sub.next_version if sub is not None else None

    # -- queries ---------------------------------------------------------------------------

    def query_subscribed(self, query_id: int) -> None:
        self._queries.add(query_id)

    def query_unsubscribed(self, query_id: int) -> Out:
        self._queries.discard(query_id)
        return outgoing.query_unsubscribed(query_id)
