"""Submitting an op from inside the server, as a user, and waiting for its commit.

The HTTP API (a title change, a restore, an undo, a sync) never writes a document itself: it
calls :func:`submit_as`, which makes the same :class:`~server.core.submission.SubmitRecord` a
socket op makes and hands it to the process's hub. The op is therefore queued, sequenced under
the dashboard's lock, transformed against whatever was committed since ``version``, fenced,
versioned, stored with its inverse and author, and broadcast to every live editor, exactly like
a browser's op. The call returns the :class:`~server.core.submission.Committed` op (its
``version`` is the snapshot it applied to; the dashboard is then at ``version + 1``).

Each call is its own submitter (``src`` is ``api:<random>`` unless given). A caller that needs
a retry to apply once (an ``Idempotency-Key``) passes the same ``src`` and ``seq`` again: the
sequencer recognises a resent ``(src, seq)`` and answers with the original version.
"""

from __future__ import annotations

import secrets
from typing import Any

from server.core.ids import DashboardId, UserId
from server.core.submission import Committed, Hub, SubmitRecord
from server.protocol.outgoing import JSON0_URI
from server.store.model import JsonOp


def api_src(key: str | None = None) -> str:
    """A submitter id for server-made submits: random, or derived from a caller's key."""
    return f"api:{key if key is not None else secrets.token_hex(12)}"


async def submit_as(
    hub: Hub,
    user: UserId,
    dashboard: DashboardId,
    *,
    version: int,
    op: JsonOp | None = None,
    dop: list[dict[str, Any]] | None = None,
    create: Any = None,
    src: str | None = None,
    seq: int = 1,
) -> Committed:
    """Submit one change to ``dashboard`` as ``user`` and wait until it is committed.

    Exactly one of ``op`` (json0, built against the snapshot at ``version``), ``dop`` (domain
    ops, built by the sequencer against the head) or ``create`` (the new document; ``version``
    0) is given. Raises what the hub raises: ``SubmitRejected`` with the sequencer's code (the
    op does not apply, the dashboard does not exist, ...), ``SubmitTimeout``, or
    ``StoreUnavailable``. The caller authorises ``user`` first; this function does not.
    """
    if sum(x is not None for x in (op, dop, create)) != 1:
        raise ValueError("give exactly one of op, dop, create")
    record = SubmitRecord(
        dashboard_id=dashboard,
        src=src or api_src(),
        seq=seq,
        version=version,
        user_id=user,
        op=op,
        dop=dop,
        create=None if create is None else {"type": JSON0_URI, "data": create},
    )
    return await hub.submit(record)
