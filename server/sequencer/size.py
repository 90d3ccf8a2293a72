"""An upper bound on a dashboard document's size, kept per op without serialising it.

A json0 op contains everything it inserts (the values of ``oi``/``li``, the strings of ``si``
and of text subtype ops, the keys in its paths), so the document after an op is at most the op's
JSON length larger than before it. The bound grows by that much per op; only when it passes the
limit is the document measured exactly (``orjson.dumps``), and the bound reset to that. Deletes
are not subtracted, so a bound is never too small; a document that stays far below the limit is
measured once per holding of its lock.
"""

from __future__ import annotations

from typing import Any

import orjson


class SizeBound:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._bound: int | None = None

    def forget(self) -> None:
        """The document may have changed other than through :meth:`fits` (a new holding)."""
        self._bound = None

    def fits(self, document: Any, op: Any) -> bool:
        """Is ``document`` (the result of applying ``op``) within the limit?"""
        grown = len(orjson.dumps(op))
        if self._bound is not None and self._bound + grown <= self.limit:
            self._bound += grown
            return True
        self._bound = len(orjson.dumps(document))
        return self._bound <= self.limit
