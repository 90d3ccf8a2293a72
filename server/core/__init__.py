"""What every stage shares: ids, value types, settings, the error tree, JSON value checks, logging."""

from __future__ import annotations
