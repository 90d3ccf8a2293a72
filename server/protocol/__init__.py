"""The ShareDB 1.2 wire protocol, without I/O: a strict codec and a per-connection state machine.

:mod:`~server.protocol.codec` turns frames into typed messages (:mod:`~server.protocol.message`),
:mod:`~server.protocol.outgoing` builds replies, :mod:`~server.protocol.session` decides, per
connection, what each event means for the client, and :mod:`~server.protocol.errors` lists the
stable error and close codes. Nothing here imports asyncio, a network or a database library.

Scope: the one collection ``dashboards``, docs named by their canonical UUID; presence on doc
channels (``dashboards.<uuid>``) only; a doc is created with its dashboard (command line or
HTTP API), so a ``create`` op over the wire can only meet an existing doc and is refused.
"""

from __future__ import annotations
