"""Values as a JavaScript peer (and PostgreSQL ``jsonb``) see them: the one place for it.

Tandem's clients are JavaScript, so a value is only shared faithfully if JavaScript reads it
back the same: integers within +-(2**53-1) (:data:`MAX_SAFE_INTEGER`), strings measured in UTF-16
code units (:func:`utf16_length`), ``true`` never equal to ``1`` (:func:`js_equal`), and no NaN,
infinity, U+0000 or lone surrogate on the wire (:func:`json_problem`)::

    json_problem({"n": [1, 2**60]}, Strict(safe_integers=True))
    -> JsonProblem(reason="integer", path=("n", 1), value=1152921504606846976)

Each reader says how strict it is with one :class:`Strict`; the walk is the same for all.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeGuard

MAX_SAFE_INTEGER: Final = 2**53 - 1
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def is_safe_integer(x: object) -> TypeGuard[int]:
    """An ``int`` (not a ``bool``) that a JavaScript number holds exactly."""
    return type(x) is int and -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER


def is_number(x: object) -> bool:
    """A JSON number: ``int`` (not ``bool``) or a finite ``float``."""
    return type(x) is int or (type(x) is float and math.isfinite(x))


def finite_sum(a: int | float, b: int | float) -> int | float | None:
    """``a + b`` when it is a JSON number; None when it overflows to infinity."""
    try:
        total = a + b
    except OverflowError:  # an int too large to become a float
        return None
    if type(total) is float and not math.isfinite(total):
        return None
    return total


def utf16_length(text: str) -> int:
    """The JavaScript ``length`` of ``text``: characters outside the BMP count twice."""
    if text.isascii():
        return len(text)
    return len(text) + len(_ASTRAL.findall(text))


def has_astral(text: str) -> bool:
    """Does ``text`` hold a character outside the BMP (two UTF-16 units in JavaScript)?"""
    return not text.isascii() and _ASTRAL.search(text) is not None


def has_surrogate(text: str) -> bool:
    """Does ``text`` hold a surrogate code point (half of a UTF-16 pair, or a lone one)?"""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _surrogate_pair(match: re.Match[str]) -> str:
    code = ord(match.group()) - 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def to_utf16(text: str) -> str:
    """``text`` with every character outside the BMP spelled as its two surrogates."""
    return _ASTRAL.sub(_surrogate_pair, text)


def from_utf16(text: str) -> str:
    """The inverse of :func:`to_utf16`; a surrogate without its partner stays as it is."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def js_equal(a: Any, b: Any) -> bool:
    """Deep equality as JavaScript sees JSON values: ``true`` is not ``1`` there."""
    if a is b:
        return True
    if a != b:
        return False
    # Python's == only disagrees with JavaScript's deep equality on bool versus number.
    kind = type(a)
    if kind is dict:
        return all(js_equal(value, b[key]) for key, value in a.items())
    if kind is list:
        return all(js_equal(x, y) for x, y in zip(a, b, strict=True))
    return (kind is bool) is (type(b) is bool)


def js_identical(a: Any, b: Any) -> bool:
    """JavaScript's ``a === b`` on values decoded from separate JSON: objects never are."""
    if type(a) is list or type(a) is dict or type(b) is list or type(b) is dict:
        return False
    return a == b and (type(a) is bool) is (type(b) is bool)


@dataclass(frozen=True, slots=True)
class Strict:
    """How strict one reader is about JSON (every reader refuses NaN, infinities and non-JSON
    types, and wants string keys)."""

    max_depth: int | None = None  # containers at this depth (the root's is 0) or deeper
    safe_integers: bool = False  # integers beyond +-MAX_SAFE_INTEGER
    clean_strings: bool = False  # U+0000 or a lone surrogate in a string or key
    huge: float | None = None  # floats of at least this magnitude, reported as "huge"
    subclasses: bool = False  # subclasses of the JSON types (an enum member) pass as JSON


Reason = Literal["depth", "integer", "number", "huge", "key", "nul", "surrogate", "type"]


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """What is wrong, where (for a key: the object holding it), and the offending value."""

    reason: Reason
    path: tuple[str | int, ...]
    value: Any


def json_problem(value: Any, strict: Strict) -> JsonProblem | None:
    """The first problem of ``value`` for this reader; None when it is strict JSON."""
    # Hot (every frame, op and commit): a quick walk settles the common case, and only a value
    # it does not pass is walked again, with paths, to say what is wrong.
    if _plain(value, strict):
        return None
    return first_problem(value, strict)


def _dirty(text: str) -> bool:
    return "\x00" in text or has_surrogate(text)


def _plain(value: Any, strict: Strict) -> bool:
    """True when ``value`` is plainly fine: exact JSON types, nothing :func:`first_problem` refuses.
    False also for what only :func:`first_problem` can judge (subclasses of the JSON types)."""
    # Iterative, so a hostile value cannot exhaust the interpreter's stack; only containers go
    # on the stack (most items are scalars, judged where they are met), and an object's keys
    # are judged together, joined into one string (a NUL or a surrogate survives the join).
    max_depth = sys.maxsize if strict.max_depth is None else strict.max_depth
    limit = MAX_SAFE_INTEGER if strict.safe_integers else None
    clean = strict.clean_strings
    huge = math.inf if strict.huge is None else strict.huge
    # A scalar root is judged as the only item of a list above the root.
    stack: list[tuple[Any, int]] = (
        [(value, 0)] if type(value) is dict or type(value) is list else [([value], -1)]
    )
    while stack:
        container, depth = stack.pop()
        if depth >= max_depth:
            return False
        children: Any = container
        if type(container) is dict:
            for key in container:
                if type(key) is not str:
                    return False
            if clean:
                keys = "".join(container)
                if ("\x00" in keys or not keys.isascii()) and _dirty(keys):
                    return False
            children = container.values()
        for item in children:
            kind = type(item)
            if kind is str:
                if clean and ("\x00" in item or not item.isascii()) and _dirty(item):
                    return False
            elif kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is int:
                if limit is not None and not -limit <= item <= limit:
                    return False
            elif kind is float:
                if not -huge < item < huge:  # NaN fails every comparison
                    return False
            elif item is not None and kind is not bool:
                return False
    return True


def first_problem(value: Any, strict: Strict) -> JsonProblem | None:
    """The careful walk alone, in document order: the first problem, if there is one."""
    max_depth = sys.maxsize if strict.max_depth is None else strict.max_depth
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        kind = _kind(item, strict.subclasses)
        if kind is None:
            return JsonProblem("type", path, item)
        if kind is str:
            problem = _string_problem(item, path, strict)
            if problem is not None:
                return problem
        elif kind is int:
            if strict.safe_integers and abs(item) > MAX_SAFE_INTEGER:
                return JsonProblem("integer", path, item)
        elif kind is float:
            if not math.isfinite(item):
                return JsonProblem("number", path, item)
            if strict.huge is not None and abs(item) >= strict.huge:
                return JsonProblem("huge", path, item)
        elif kind is dict or kind is list:
            if depth >= max_depth:
                return JsonProblem("depth", path, item)
            children: list[tuple[Any, int, tuple[str | int, ...]]] = []
            if kind is dict:
                for key, child in item.items():
                    if _kind(key, strict.subclasses) is not str:
                        return JsonProblem("key", path, key)
                    problem = _string_problem(key, path, strict)
                    if problem is not None:
                        return problem
                    children.append((child, depth + 1, (*path, key)))
            else:
                children = [(child, depth + 1, (*path, i)) for i, child in enumerate(item)]
            stack.extend(reversed(children))
    return None


def _kind(item: Any, subclasses: bool) -> type | None:
    """The JSON type ``item`` is (``type(None)`` for null); None for anything else."""
    kind = type(item)
    if kind in _JSON_TYPES:
        return kind
    if subclasses:
        for base in _JSON_TYPES:  # bool before int: a bool is an int in Python
            if isinstance(item, base):
                return base
    return None


_JSON_TYPES: Final = (type(None), bool, str, int, float, dict, list)


def _string_problem(text: str, path: tuple[str | int, ...], strict: Strict) -> JsonProblem | None:
    if not strict.clean_strings:
        return None
    if "\x00" in text:
        return JsonProblem("nul", path, text)
    if has_surrogate(text):
        return JsonProblem("surrogate", path, text)
    return None
