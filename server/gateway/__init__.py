"""The WebSocket gateway: the connection pump, message dispatch and authorisation, limits, and frame batching."""

from __future__ import annotations
