"""The dashboard domain over json0: the document's shape, the operation vocabulary, classification
of stored ops, and presence selections carried through ops.

:mod:`~ot.dashboard.document` says what a valid dashboard is (and
:mod:`~ot.dashboard.edited` checks one after an edit, at the edit's cost); :mod:`~ot.dashboard.ops` builds
domain ops (``move``, ``addWidget``, …) into json0; :mod:`~ot.dashboard.classify` names the
domain op a json0 op is; :mod:`~ot.dashboard.selection` moves cursors through ops.

For history and offline sync: :mod:`~ot.dashboard.diff` (the op between two documents, on
:mod:`~ot.dashboard.textdiff`'s character diffs), :mod:`~ot.dashboard.summary` (what changed,
per widget), :mod:`~ot.dashboard.undo` (undo and redo as ops), :mod:`~ot.dashboard.export`
(redaction, import validation, fresh widget ids), :mod:`~ot.dashboard.merge` (the three-way
sync merge) and :mod:`~ot.dashboard.patch` (a sync patch as a document).
"""

from __future__ import annotations

from ot.dashboard import ops
from ot.dashboard.ops import *  # noqa: F403  (the package offers what ops does, and only that)

__all__ = ops.__all__
