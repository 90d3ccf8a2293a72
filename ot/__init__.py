"""Tandem's operational-transform core.

Pure: standard library only, no I/O, no asyncio, no logging. Every public function raises
only :class:`ot.errors.OTError` (or a subclass) on bad input.
"""

from __future__ import annotations
