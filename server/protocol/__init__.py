"""The ShareDB 1.2 wire protocol, without I/O: a strict codec and a per-connection state machine.

:mod:`~server.protocol.codec` turns frames into typed messages (:mod:`~server.protocol.message`),
:mod:`~server.protocol.outgoing` builds replies, :mod:`~server.protocol.session` decides, per
connection, what each event means for the client, and :mod:`~server.protocol.errors` lists the
stable error and close codes. Nothing here imports asyncio, a network or a database library.
"""

from __future__ import annotations
