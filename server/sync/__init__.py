"""Offline sync: an offline client's document or patch merged into the live log
(:mod:`~server.sync.inbound`). The HTTP endpoints are :mod:`server.api.sync` and
:mod:`server.api.changes`; the tables, :mod:`server.store.idempotency` and
:mod:`server.store.changes`."""
