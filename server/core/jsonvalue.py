"""Refuse JSON values that PostgreSQL ``jsonb`` (or a JavaScript client) cannot hold faithfully.

Pure: no I/O. Every value the store writes as JSON passes :func:`check_jsonb` first, so a bad
value fails alone with :class:`~server.core.errors.BadData` instead of failing a whole batch's
transaction (or being silently altered: the JSON encoder writes NaN as ``null``).
"""

from __future__ import annotations

import math
from typing import Any

from server.core.errors import BadData

MAX_DEPTH = 64
# Integers beyond this lose precision in JavaScript numbers, so clients could not round-trip them.
MAX_SAFE_INTEGER = 2**53 - 1


def _check_string(value: str, where: str) -> None:
    if "\x00" in value:
        raise BadData(f"{where}: strings may not contain U+0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadData(f"{where}: lone surrogate in string") from exc


def check_jsonb(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise BadData unless ``value`` is plain JSON that ``jsonb`` stores unchanged.

    Allowed: dict with str keys, list, str, int, float, bool, None. Refused: U+0000 or a lone
    surrogate in a string or key, NaN and infinities, integers beyond +-(2**53 - 1), nesting
    deeper than ``max_depth`` containers, and any other type (tuples included).
    """
    # Every op of every commit comes through here: a quick walk first, and only a value it
    # does not pass is walked again to say where the problem is.
    if not _plain(value, max_depth):
        _explain(value, max_depth)


def _plain(value: Any, max_depth: int) -> bool:
    """True when ``value`` is plainly fine: exact JSON types, nothing :func:`_explain` refuses.
    False also for what only the careful walk can judge (subclasses of the JSON types)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item or not (item.isascii() or _encodes(item)):
                return False
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif kind is dict:
            if depth >= max_depth:
                return False
            for key, child in item.items():
                if type(key) is not str or "\x00" in key or not (key.isascii() or _encodes(key)):
                    return False
                stack.append((child, depth + 1))
        elif kind is list:
            if depth >= max_depth:
                return False
            stack.extend((child, depth + 1) for child in item)
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif item is not None and kind is not bool:
            return False
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _explain(value: Any, max_depth: int) -> None:
    """The careful walk: raises BadData naming where ``value`` goes wrong, if it does."""
    # Iterative, so a hostile value cannot exhaust the interpreter's stack before the depth
    # check refuses it.
    stack: list[tuple[Any, int, str]] = [(value, 0, "$")]
    while stack:
        item, depth, where = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise BadData(f"{where}: integer {item} is beyond +-(2**53 - 1)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BadData(f"{where}: {item} is not a JSON number")
        elif isinstance(item, dict):
            if depth >= max_depth:
                raise BadData(f"{where}: nested deeper than {max_depth} levels")
            for key, child in item.items():
                if not isinstance(key, str):
                    raise BadData(f"{where}: object key {key!r} is not a string")
                _check_string(key, where)
                stack.append((child, depth + 1, f"{where}.{key[:40]}"))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise BadData(f"{where}: nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(item))
        else:
            raise BadData(f"{where}: {type(item).__name__} is not a JSON value")
