"""What the gateway hands the sequencer, and what comes back.

The gateway validates and authorises a client's ``op`` message, turns it into a
:class:`SubmitRecord` and calls :meth:`Hub.submit`. The record goes to the dashboard's Redis queue;
whichever process holds the dashboard's lock sequences it. The outcome is published on the
dashboard's channel as a :class:`Committed` (for everyone) or a :class:`Rejected` (for the
submitter only), and :meth:`Hub.submit` returns or raises accordingly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from server.core.codes import Code
from server.core.ids import DashboardId, UserId
from server.core.oplog import JsonOp, Snapshot


@dataclass(frozen=True)
class SubmitRecord:
    """One client submit. Exactly one of ``op``, ``dop``, ``create``, ``delete`` is set.

    ``version`` is the snapshot version the client based the op on. ``dop`` is the domain-op form
    (a list of dashboard operations) built into json0 by the sequencer against the head.
    """

    dashboard_id: DashboardId
    src: str
    seq: int
    version: int
    user_id: UserId
    op: JsonOp | None = None
    dop: list[dict[str, Any]] | None = None
    create: dict[str, Any] | None = None  # {"type": uri, "data": document}
    delete: bool = False


@dataclass(frozen=True)
class Committed:
    """An op in the dashboard's log: ``version`` is the snapshot it applied to."""

    dashboard_id: DashboardId
    version: int
    src: str
    seq: int
    op: JsonOp | None = None
    create: dict[str, Any] | None = None
    delete: bool = False
    user_id: UserId | None = None
    created_at: datetime | None = None
    # The op's broadcast message per doc id, encoded once for every connection that sends it
    # (see server.protocol.outgoing.op); not part of the value.
    frames: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)


@dataclass(frozen=True)
class Rejected:
    dashboard_id: DashboardId
    src: str
    seq: int
    code: Code
    message: str


@dataclass(frozen=True)
class PresenceUpdate:
    """A presence value (None: gone) for one client on one dashboard, relayed to every gateway."""

    dashboard_id: DashboardId
    client_id: str  # the presence id the ShareDB client chose
    src: str  # connection id of the sender (so its own gateway does not echo it back)
    seq: int
    version: int
    value: Any


OpListener = Callable[[Committed], Awaitable[None] | None]
Claim = Literal["ok", "taken", "full"]

PresenceListener = Callable[[PresenceUpdate], Awaitable[None] | None]


class Hub(Protocol):
    """One per gateway process: submits, ordered committed-op delivery, snapshots, presence."""

    async def submit(self, record: SubmitRecord) -> Committed:
        """Enqueue and wait until it is committed (returns the committed op, with its version and
        the op as transformed). Raises a TandemError subclass with a stable ``code`` when it is
        rejected (invalid op, from the future, forbidden) or times out."""
        ...

    def listen(
        self, dashboard_id: DashboardId, listener: OpListener, *, from_version: int | None = None
    ) -> Callable[[], None]:
        """Deliver every op committed from now on (or from ``from_version``), gapless and in
        version order (the hub fetches missing versions from the log when pub/sub drops one).
        Returns an unlisten function."""
        ...

    async def ops_since(self, dashboard_id: DashboardId, version: int) -> list[Committed]:
        """Committed ops from ``version`` to the head; raises (code ``version_unavailable``) when
        ``version`` is older than the retained log."""
        ...

    async def snapshot(
        self, dashboard_id: DashboardId, *, version: int | None = None, at: datetime | None = None
    ) -> Snapshot: ...

    def held_snapshot(self, dashboard_id: DashboardId) -> Snapshot | None:
        """The head as this process's sequencer holds it while it holds the dashboard's lock,
        without a read (it trails the head only by a batch under way); None otherwise."""
        ...

    async def publish_presence(self, update: PresenceUpdate) -> None: ...

    async def claim_presence(self, update: PresenceUpdate, limit: int) -> Claim:
        """Bind ``update``'s presence id to its connection (``src``): ``taken`` when another
        connection holds it, ``full`` when the dashboard has ``limit`` presences already."""
        ...

    def listen_presence(
        self, dashboard_id: DashboardId, listener: PresenceListener
    ) -> Callable[[], None]: ...

    async def presence_snapshot(self, dashboard_id: DashboardId) -> list[PresenceUpdate]:
        """Every live presence on the dashboard (for a newly subscribing client)."""
        ...
