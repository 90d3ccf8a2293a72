"""What messages name, and how a reply names them back.

A dashboard is a doc of the ``dashboards`` collection, spelt as its canonical UUID (so every
reply and broadcast can use ``str(dashboard_id)``); a doc presence channel is
``dashboards.<uuid>``; a client id (``src``) is bound to its user. :func:`echo` gives the routing
fields an error reply carries back to the right doc, query or presence on the client.
"""

from __future__ import annotations

import functools
import hashlib
from uuid import UUID

from server.core.ids import DashboardId, UserId
from server.protocol import message as m
from server.protocol.errors import not_found
from server.protocol.outgoing import COLLECTION


def dashboard_id(collection: str, doc: str, echo: dict[str, object]) -> DashboardId:
    """The dashboard a (collection, doc id) names; not_found for anything else.

    Only the canonical UUID spelling is accepted, so every reply and broadcast can use
    ``str(dashboard_id)`` and still match the id the client asked with.
    """
    if collection != COLLECTION:
        raise not_found(echo)
    parsed = _canonical_uuid(doc)
    if parsed is None:
        raise not_found(echo)
    return DashboardId(parsed)


@functools.lru_cache(maxsize=4096)
def _canonical_uuid(doc: str) -> UUID | None:
    """Every message names its dashboard: the ids in use are parsed once, not per message."""
    try:
        parsed = UUID(doc)
    except ValueError:
        return None
    return parsed if str(parsed) == doc else None


SRC_NONCE = 24  # hex characters of randomness in a client id, then 8 of its user binding


def _tag(user_id: UserId, nonce: str) -> str:
    return hashlib.sha256(f"{user_id}:{nonce}".encode()).hexdigest()[:8]


def bound_src(user_id: UserId, nonce: str) -> str:
    """A client id for ``user_id``: ``nonce`` (random hex) and a tag binding it to the user."""
    nonce = nonce[:SRC_NONCE]
    return nonce + _tag(user_id, nonce)


def src_belongs(src: str, user_id: UserId) -> bool:
    nonce = src[:SRC_NONCE]
    return len(src) == SRC_NONCE + 8 and src == nonce + _tag(user_id, nonce)


def channel_dashboard(ch: str, echo: dict[str, object]) -> DashboardId:
    """The dashboard of a doc presence channel (``dashboards.<uuid>``); other channels: not_found."""
    collection, dot, doc = ch.partition(".")
    if not dot:
        raise not_found(echo)
    return dashboard_id(collection, doc, echo)


def echo(message: m.Message) -> dict[str, object]:
    """Routing fields of a typed message, for an error reply."""
    fields: dict[str, object] = {"a": message.action}
    for attr, key in (
        ("collection", "c"),
        ("doc", "d"),
        ("request_id", "id"),
        ("query_id", "id"),
        ("presence_id", "id"),
        ("channel", "ch"),
        ("seq", "seq"),
        ("src", "src"),
        ("version", "v"),
        ("presence_version", "pv"),
    ):
        value = getattr(message, attr, None)
        if value is not None:
            fields[key] = value
    if isinstance(message, m.BulkFetch | m.BulkSubscribe | m.BulkUnsubscribe):
        fields["b"] = list(message.docs)
    return fields
