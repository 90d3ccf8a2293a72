"""Sequencing: submits enter a dashboard's Redis queue; the lock holder drains it in batches, transforms, applies and commits them behind the fence."""

from __future__ import annotations
