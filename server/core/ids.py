"""Identifier types shared across the server."""

from __future__ import annotations

from typing import NewType
from uuid import UUID

DashboardId = NewType("DashboardId", UUID)
UserId = NewType("UserId", UUID)
ConnectionId = NewType("ConnectionId", str)
