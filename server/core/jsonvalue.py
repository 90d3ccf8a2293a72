"""Refuse JSON values that PostgreSQL ``jsonb`` (or a JavaScript client) cannot hold faithfully.

Pure: no I/O. Every value the store writes as JSON passes :func:`check_jsonb` first, or was
held to :data:`JSONB` where it came in (the sequencer's ops, see ``NewOp.sequenced``), so a bad
value fails alone instead of failing a whole batch's transaction (or being silently altered:
the JSON encoder writes NaN as ``null``). The walk is :func:`ot.jsvalue.json_problem`'s; this
module says what jsonb refuses and how it is named.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from ot.jsvalue import MAX_SAFE_INTEGER, JsonProblem, Strict, first_problem, json_problem
from server.core.errors import BadData

MAX_DEPTH = 64

__all__ = ["JSONB", "MAX_DEPTH", "MAX_SAFE_INTEGER", "check_jsonb"]


@functools.lru_cache(maxsize=8)
def _strict(max_depth: int) -> Strict:
    # Subclasses of the JSON types (an enum member) are stored as their value.
    return Strict(max_depth=max_depth, safe_integers=True, clean_strings=True, subclasses=True)


# What check_jsonb wants of a value, for the checks made ahead of the store (an op checked with
# it as the sequencer takes it in, see NewOp.sequenced).
JSONB: Final = _strict(MAX_DEPTH)


def check_jsonb(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise BadData unless ``value`` is plain JSON that ``jsonb`` stores unchanged.

    Allowed: dict with str keys, list, str, int, float, bool, None. Refused: U+0000 or a lone
    surrogate in a string or key, NaN and infinities, integers beyond +-(2**53 - 1), nesting
    deeper than ``max_depth`` containers, and any other type (tuples included).
    """
    problem = json_problem(value, _strict(max_depth))
    if problem is not None:
        raise BadData(_message(problem, max_depth))


def _explain(value: Any, max_depth: int) -> None:
    """The careful walk alone (what :func:`check_jsonb` falls back on): raises BadData."""
    problem = first_problem(value, _strict(max_depth))
    if problem is not None:
        raise BadData(_message(problem, max_depth))


def _message(problem: JsonProblem, max_depth: int) -> str:
    where = "$" + "".join(f"[{p}]" if type(p) is int else f".{str(p)[:40]}" for p in problem.path)
    item = problem.value
    reason = problem.reason
    if reason == "nul":
        says = "strings may not contain U+0000"
    elif reason == "surrogate":
        says = "lone surrogate in string"
    elif reason == "integer":
        says = f"integer {item} is beyond +-(2**53 - 1)"
    elif reason == "number":
        says = f"{item} is not a JSON number"
    elif reason == "depth":
        says = f"nested deeper than {max_depth} levels"
    elif reason == "key":
        says = f"object key {item!r} is not a string"
    else:
        says = f"{type(item).__name__} is not a JSON value"
    return f"{where}: {says}"
