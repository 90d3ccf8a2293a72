"""Presence: who is where on a dashboard, kept in Redis with an expiry, throttled per client, relayed between gateways."""

from __future__ import annotations
