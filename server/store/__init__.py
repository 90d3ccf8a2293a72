"""Persistence: the store interface, its PostgreSQL implementation and an in-memory twin."""

from __future__ import annotations
