"""Incoming messages, one frozen dataclass per action (the ``a`` field on the wire).

Field names are Python's; the wire names are in each class's comment. Values are already
checked for type by :mod:`server.protocol.codec`; meaning (is this a dashboard? may this user
see it?) is decided later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

Version = int | None


@dataclass(frozen=True)
class Auth:
    """``{a:'auth', token}``: Tandem's extension, the first message of a connection."""

    action: ClassVar[str] = "auth"
    token: str


@dataclass(frozen=True)
class Handshake:
    """``{a:'hs', id?, protocol?, protocolMinor?}``: ``id`` is the client's previous connection id."""

    action: ClassVar[str] = "hs"
    client_id: str | None
    protocol: int | str | None
    protocol_minor: int | str | None


@dataclass(frozen=True)
class Ping:
    """``{a:'pp'}``."""

    action: ClassVar[str] = "pp"


@dataclass(frozen=True)
class Fetch:
    """``{a:'f', c, d, v?}``: a snapshot, or with ``v`` the ops since ``v``."""

    action: ClassVar[str] = "f"
    collection: str
    doc: str
    version: Version


@dataclass(frozen=True)
class Subscribe:
    """``{a:'s', c, d, v?}``: like fetch, then every new op."""

    action: ClassVar[str] = "s"
    collection: str
    doc: str
    version: Version


@dataclass(frozen=True)
class Unsubscribe:
    """``{a:'u', c, d}``."""

    action: ClassVar[str] = "u"
    collection: str
    doc: str


@dataclass(frozen=True)
class BulkFetch:
    """``{a:'bf', c, b}``: ``b`` is a list of ids (snapshots) or ``{id: version}`` (ops).

    ``versions`` is None for the list form.
    """

    action: ClassVar[str] = "bf"
    collection: str
    docs: tuple[str, ...]
    versions: tuple[Version, ...] | None


@dataclass(frozen=True)
class BulkSubscribe:
    """``{a:'bs', c, b}``: as :class:`BulkFetch`, then every new op."""

    action: ClassVar[str] = "bs"
    collection: str
    docs: tuple[str, ...]
    versions: tuple[Version, ...] | None


@dataclass(frozen=True)
class BulkUnsubscribe:
    """``{a:'bu', c, b}``; ``b`` may be a list or an object (its keys count)."""

    action: ClassVar[str] = "bu"
    collection: str
    docs: tuple[str, ...]
    versions: tuple[Version, ...] | None


@dataclass(frozen=True)
class Submit:
    """``{a:'op', c, d, v, src?, seq, x?}`` plus exactly one of ``op``, ``dop``, ``create``, ``del``.

    ``src`` is absent on a first try (the connection id is meant) and present when a client
    resubmits after a reconnect. ``dop`` is Tandem's domain-op form.
    """

    action: ClassVar[str] = "op"
    collection: str
    doc: str
    version: Version
    src: str | None
    seq: int
    op: list[dict[str, Any]] | None = None
    dop: list[dict[str, Any]] | None = None
    create: dict[str, Any] | None = None
    delete: bool = False


@dataclass(frozen=True)
class SnapshotFetch:
    """``{a:'nf', id, c, d, v?}``: the snapshot at version ``v`` (None: the latest)."""

    action: ClassVar[str] = "nf"
    request_id: int
    collection: str
    doc: str
    version: Version


@dataclass(frozen=True)
class SnapshotFetchAt:
    """``{a:'nt', id, c, d, ts?}``: the snapshot as it was at ``ts`` (ms since the epoch)."""

    action: ClassVar[str] = "nt"
    request_id: int
    collection: str
    doc: str
    timestamp: int | None


@dataclass(frozen=True)
class PresenceSend:
    """``{a:'p', ch, id, p, pv, c?, d?, v?, t?}``: this client's presence ``id`` on channel ``ch``."""

    action: ClassVar[str] = "p"
    channel: str
    presence_id: str
    value: Any
    presence_version: int
    collection: str | None
    doc: str | None
    version: Version
    type_uri: str | None


@dataclass(frozen=True)
class PresenceSubscribe:
    """``{a:'ps', ch, seq}``."""

    action: ClassVar[str] = "ps"
    channel: str
    seq: int


@dataclass(frozen=True)
class PresenceUnsubscribe:
    """``{a:'pu', ch, seq}``."""

    action: ClassVar[str] = "pu"
    channel: str
    seq: int


@dataclass(frozen=True)
class PresenceRequest:
    """``{a:'pr', ch}``: send me everyone's presence again."""

    action: ClassVar[str] = "pr"
    channel: str


@dataclass(frozen=True)
class QueryFetch:
    """``{a:'qf', id, c, q, o?, r?}``."""

    action: ClassVar[str] = "qf"
    query_id: int
    collection: str
    query: dict[str, Any]


@dataclass(frozen=True)
class QuerySubscribe:
    """``{a:'qs', id, c, q, o?, r?}``."""

    action: ClassVar[str] = "qs"
    query_id: int
    collection: str
    query: dict[str, Any]


@dataclass(frozen=True)
class QueryUnsubscribe:
    """``{a:'qu', id}``."""

    action: ClassVar[str] = "qu"
    query_id: int


@dataclass(frozen=True)
class Undo:
    """``{a:'undo', id, c, d}``: Tandem's extension for clients that keep no undo stack: undo
    the user's own newest op on the dashboard, through the sequencer (:mod:`server.history`).
    The reply echoes ``id`` with ``v`` (the version after it, or null) and ``applied``."""

    action: ClassVar[str] = "undo"
    request_id: int
    collection: str
    doc: str


@dataclass(frozen=True)
class Redo(Undo):
    """``{a:'redo', id, c, d}``: redo the user's newest undo, as :class:`Undo` answers."""

    action: ClassVar[str] = "redo"


DocMessage = Fetch | Subscribe | Unsubscribe | Submit | SnapshotFetch | SnapshotFetchAt | Undo
BulkMessage = BulkFetch | BulkSubscribe | BulkUnsubscribe
PresenceMessage = PresenceSend | PresenceSubscribe | PresenceUnsubscribe | PresenceRequest
QueryMessage = QueryFetch | QuerySubscribe | QueryUnsubscribe
Message = Auth | Handshake | Ping | DocMessage | BulkMessage | PresenceMessage | QueryMessage
