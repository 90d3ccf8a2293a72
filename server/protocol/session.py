"""One connection's protocol state, without I/O.

The gateway feeds it what happened (a message was received, a subscription's snapshot loaded,
the hub delivered a committed op, a submit returned) and sends what it answers. The session
owns the rules that make the stock ShareDB client work:

- ``hs`` is answered only once the connection is authenticated, so a client never believes it
  is connected (and starts subscribing) before ``auth`` has been accepted;
- ops reach a subscribed client in version order, without gaps or duplicates: the hub's feed
  delivers them so from the loaded version on, and the session drops what the client was sent
  already (the feed repairs gaps; the session has none to repair);
- a subscribed client's ack is its own op arriving in that stream, at its place (ShareDB's
  client ignores an ack whose version is not the one it expects next). The hub's answer to the
  submit adds only what the stream cannot carry any more: the commit of an op it has already
  passed (inside a snapshot the client was sent, or a resubmit committed long before);
- a submit on a dashboard the client has not subscribed to is answered from the hub's answer,
  like ShareDB's agent: the ops it was transformed against first (:class:`CatchUp`), then the ack;
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
    """For a submit on a dashboard the client has not subscribed to: fetch the committed ops from
    ``from_version`` and pass them to :meth:`Session.submit_ops_loaded`."""

    dashboard_id: DashboardId
    from_version: int
    until_version: int


@dataclass(frozen=True)
class Output:
    messages: tuple[Out, ...] = ()
    catch_up: CatchUp | None = None


@dataclass
class _Subscription:
    doc: str
    next_version: int | None = None  # None while the first snapshot or ops are loading
    held: list[Committed] = field(default_factory=list)  # arrived while loading


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
        """The subscription's data: a snapshot (sent in ``reply``), or ``ops`` from ``from_version``.

        The client's submits whose op it now has are acknowledged before the reply."""
        sub = self._subs.get(dashboard)
        if sub is None:  # unsubscribed while loading
            return Output((reply,))
        held, sub.held = sub.held, []
        for op in held:
            self._learn(dashboard, op)
        out: list[Out] = []
        if snapshot is not None:
            sub.next_version = snapshot.version
            out.extend(self._acks(dashboard, sub.next_version))
        else:
            sub.next_version = from_version if from_version is not None else 0
            out.extend(self._acks(dashboard, sub.next_version))
            for op in ops or []:
                out.extend(self._stream(dashboard, sub, op))
        out.append(reply)
        for op in held:
            out.extend(self._stream(dashboard, sub, op))
        return Output(tuple(out))

    def subscribe_failed(self, dashboard: DashboardId) -> bool:
        """Forget a subscription whose load failed; True: remove its listener."""
        return self._subs.pop(dashboard, None) is not None

    def unsubscribed(self, dashboard: DashboardId) -> bool:
        return self._subs.pop(dashboard, None) is not None

    def stranded(self, dashboard: DashboardId) -> list[tuple[SubmitRecord, Committed]]:
        """Submits on ``dashboard`` whose commit is known but whose ack waited for a stream
        that has ended (the client unsubscribed): answer each again with
        :meth:`submit_committed`, which now acks them as on an unsubscribed dashboard."""
        if dashboard in self._subs:
            return []
        return [
            (p.record, p.committed)
            for p in list(self._pending.values())
            if p.committed is not None and p.record.dashboard_id == dashboard
        ]

    def op_committed(self, committed: Committed) -> Output:
        """An op from the hub's stream for a dashboard this connection listens to."""
        sub = self._subs.get(committed.dashboard_id)
        if sub is None:
            return Output()
        if sub.next_version is None:
            sub.held.append(committed)
            return Output()
        return Output(tuple(self._stream(committed.dashboard_id, sub, committed)))

    def _stream(self, dashboard: DashboardId, sub: _Subscription, op: Committed) -> list[Out]:
        """One op of the subscription's stream, which the hub's feed makes gapless and ordered
        from the loaded version on (gaps are repaired there, never here). The op at the next
        version goes out, unless it is the client's own: then it is the client's ack. One below
        it is in what the client was sent already."""
        assert sub.next_version is not None
        pending = self._learn(dashboard, op)
        if op.version < sub.next_version:
            return self._acks(dashboard, sub.next_version) if pending is not None else []
        sub.next_version = op.version + 1
        if pending is None:
            return [outgoing.op(sub.doc, op)]
        return self._acks(dashboard, sub.next_version)

    def _learn(self, dashboard: DashboardId, op: Committed) -> _Pending | None:
        """The client's submit that ``op`` is the commit of, now known to be committed."""
        pending = self._pending.get((op.src, op.seq))
        if pending is None or pending.record.dashboard_id != dashboard:
            return None
        pending.committed = op
        return pending

    def _acks(self, dashboard: DashboardId, next_version: int) -> list[Out]:
        """The one rule for a subscribed client's acks: a submit is acknowledged once its commit
        is known and the stream has reached it, at its place (its op came next, or was already
        in what the client was sent), in version order."""
        ready = [
            (c, p)
            for p in self._pending.values()
            if (c := p.committed) is not None
            and p.record.dashboard_id == dashboard
            and c.version < next_version
        ]
        ready.sort(key=lambda cp: cp[0].version)
        return [self._ack(p, c) for c, p in ready]

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
        """The hub's answer to a submit. On a subscribed dashboard it only tells when the op
        committed (the stream acknowledges it); on any other, the ack follows the ops the submit
        was transformed against (a :class:`CatchUp` when there were any)."""
        pending = self._pending.get((record.src, record.seq))
        if pending is None:  # acknowledged already, at its place in the subscription stream
            return Output()
        pending.committed = committed
        sub = self._subs.get(record.dashboard_id)
        if sub is not None:
            if sub.next_version is None:
                return Output()  # the subscription's load acknowledges it
            return Output(tuple(self._acks(record.dashboard_id, sub.next_version)))
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

    def submit_answered(self, record: SubmitRecord) -> list[Out]:
        """The ack of a submit done without a new version (a ``del``, which archives)."""
        pending = self._pending.pop((record.src, record.seq), None)
        if pending is None:
            return []
        return [outgoing.ack(pending.doc, record.version, record.src, record.seq, None)]

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
