"""The dashboard domain over json0: the document's shape, the operation vocabulary, classification
of stored ops, and presence selections carried through ops.

:mod:`~ot.dashboard.document` says what a valid dashboard is; :mod:`~ot.dashboard.ops` builds
domain ops (``move``, ``addWidget``, …) into json0; :mod:`~ot.dashboard.classify` names the
domain op a json0 op is; :mod:`~ot.dashboard.selection` moves cursors through ops.
"""

from __future__ import annotations

from ot.dashboard.ops import (
    OPERATION_TYPES,
    WIDGET_TYPES,
    DomainOp,
    build,
    build_all,
    classify,
    new_document,
    parse_domain_op,
    validate_after,
    validate_document,
)

__all__ = [
    "OPERATION_TYPES",
    "WIDGET_TYPES",
    "DomainOp",
    "build",
    "build_all",
    "classify",
    "new_document",
    "parse_domain_op",
    "validate_after",
    "validate_document",
]
