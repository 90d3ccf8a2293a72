"""The json0 op that turns one dashboard document into another: :func:`diff`.

The op is minimal where the document's meaning gives it a shape, and plain elsewhere:

- objects present on both sides are recursed into; keys only one side has become ``oi`` /
  ``od``, and a value that changes kind (or a scalar that changes) ``od`` + ``oi``;
- text fields (the dashboard's ``title`` and ``description``, a widget's ``title``, and a
  plain-text ``body``) become text-unicode ops and a rich-text ``body`` a rich-text op, by a
  character diff (:mod:`ot.dashboard.textdiff`), so that concurrent typing merges by
  character;
- ``layout`` becomes ``ld`` for the widgets that leave it, ``lm`` moves for the ones that
  change place (the longest run already in order stays put) and ``li`` for new ones;
- other lists (inside ``settings``, ``config`` and ``data``) are recursed into element by
  element when their lengths are equal, else replaced whole.

Unchanged subtrees cost an identity or equality check, not a walk. Example::

    >>> a = {"title": "Ops", "description": "", "settings": {}, "widgets": {}, "layout": []}
    >>> diff(a, {**a, "title": "Ops board", "settings": {"theme": "dark"}})
    [{'p': ['title'], 't': 'text-unicode', 'o': [3, ' board']},
     {'p': ['settings', 'theme'], 'oi': 'dark'}]

``json0.apply(a, diff(a, b)) == b`` for any two JSON documents; the op carries what it removes,
so ``json0.invert`` undoes it (but for rich-text deletes, which carry a count:
``json0.invert_with_doc``). Neither argument is changed; the op may share values with ``b``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from ot import rich_text
from ot.dashboard.document import is_rich_body
from ot.dashboard.textdiff import is_canonical, rich_op, text_op

__all__ = ["diff", "same_json"]

Path = list[str | int]
Op = list[dict[str, Any]]

_ABSENT: Any = object()  # no JSON value is this


def diff(a: Any, b: Any) -> Op:
    """The json0 op that turns document ``a`` into document ``b``."""
    out: Op = []
    if type(a) is dict and type(b) is dict:
        _object(a, b, [], out, _document_field)
    else:
        _value(a, b, [], out)
    return out


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal as JSON (``true`` is not ``1``), cheaply for equal
    containers: Python's ``==`` settles most cases in C, and ``repr`` (C too) the rest."""
    if a is b:
        return True
    if a != b:
        return False
    if type(a) is not type(b):
        return False
    if type(a) is dict or type(a) is list:
        # == matched True with 1 somewhere inside, or nothing did: repr tells which (keys in
        # another order, or 1 against 1.0, only send the caller on to an exact walk).
        return repr(a) == repr(b) or _walk_same(a, b)
    return True


def _walk_same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_walk_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_walk_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)  # of one type: so 1 and 1.0, or true and 1, are never the same


def _replace(a: Any, b: Any, path: Path, out: Op) -> None:
    in_list = bool(path) and type(path[-1]) is int
    if not path:
        out.append({"p": [], "od": a, "oi": b})
    elif in_list:
        out.append({"p": path, "ld": a, "li": b})
    else:
        out.append({"p": path, "od": a, "oi": b})


def _value(a: Any, b: Any, path: Path, out: Op) -> None:
    """Any JSON value: recurse into objects and equal-length lists, else replace."""
    if not same_json(a, b):
        _changed(a, b, path, out)


def _changed(a: Any, b: Any, path: Path, out: Op) -> None:
    """:func:`_value` of two values known not to be the same, so that a caller that checks
    first builds the path only for what changed."""
    if type(a) is dict and type(b) is dict:
        _object(a, b, path, out, None)
    elif type(a) is list and type(b) is list and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x is not y and not same_json(x, y):
                _changed(x, y, [*path, index], out)
    else:
        _replace(a, b, path, out)


# Diffs one known field; a FieldOf names the handler for each key of an object, if any.
Handler = Callable[[Any, Any, Path, Op], None]
FieldOf = Callable[[str], Handler | None] | None


def _object(a: dict[str, Any], b: dict[str, Any], path: Path, out: Op, field: FieldOf) -> None:
    shared = 0  # keys of b that a has too
    for key, old in a.items():
        new = b.get(key, _ABSENT)
        if new is _ABSENT:
            out.append({"p": [*path, key], "od": old})
            continue
        shared += 1
        if old is new:
            continue
        handler = field(key) if field is not None else None
        if handler is not None:
            handler(old, new, [*path, key], out)
        elif not same_json(old, new):
            _changed(old, new, [*path, key], out)
    if shared < len(b):
        for key, new in b.items():
            if key not in a:
                out.append({"p": [*path, key], "oi": new})


def _text(a: Any, b: Any, path: Path, out: Op) -> None:
    if type(a) is str and type(b) is str:
        if a != b:
            out.append({"p": path, "t": "text-unicode", "o": text_op(a, b)})
    else:
        _value(a, b, path, out)


def _body(a: Any, b: Any, path: Path, out: Op) -> None:
    if is_rich_body(a) and is_rich_body(b) and _inserts_only(a) and _inserts_only(b):
        if not same_json(a, b):
            op = rich_op(a, b)
            # Both as Quill keeps them, the op gives back b exactly; else check it does.
            exact = is_canonical(a) and is_canonical(b)
            if op and (exact or rich_text.apply(a, op) == b):
                out.append({"p": path, "t": "rich-text", "o": op})
            else:
                # Equal as rich text but not as JSON, or b keeps neighbours with the same
                # attributes apart (Quill merges them): only a replacement gives back b.
                _replace(a, b, path, out)
    else:
        _text(a, b, path, out)


def _inserts_only(body: dict[str, Any]) -> bool:
    ops = body["ops"]
    return type(ops) is list and all(
        type(op) is dict
        and (type(op.get("insert")) is str or type(op.get("insert")) is dict)
        and set(op) <= {"insert", "attributes"}
        for op in ops
    )


def _widget(a: Any, b: Any, path: Path, out: Op) -> None:
    if type(a) is dict and type(b) is dict:
        _object(a, b, path, out, _WIDGET_FIELDS.get)
    else:
        _value(a, b, path, out)


def _widgets(a: Any, b: Any, path: Path, out: Op) -> None:
    if type(a) is dict and type(b) is dict:
        _object(a, b, path, out, lambda key: _widget)
    else:
        _value(a, b, path, out)


_WIDGET_FIELDS: dict[str, Handler] = {"title": _text, "body": _body}


def _layout(a: Any, b: Any, path: Path, out: Op) -> None:
    if not (_is_id_list(a) and _is_id_list(b)):
        _value(a, b, path, out)
        return
    if a == b:
        return
    kept = set(b)
    current = list(a)
    for index in range(len(current) - 1, -1, -1):
        if current[index] not in kept:
            out.append({"p": [*path, index], "ld": current[index]})
            del current[index]
    present = set(current)
    target = [item for item in b if item in present]
    _moves(current, target, path, out)
    for index, item in enumerate(b):
        if item not in present:
            out.append({"p": [*path, index], "li": item})


def _is_id_list(value: Any) -> bool:
    return (
        type(value) is list
        and all(type(item) is str for item in value)
        and len(set(value)) == len(value)
    )


def _moves(current: list[str], target: list[str], path: Path, out: Op) -> None:
    """``lm`` moves turning ``current`` into ``target`` (the same items), leaving the longest
    run already in target order where it is and putting each other item, in target order,
    just after the one that precedes it in ``target``."""
    if current == target:
        return
    rank = {item: index for index, item in enumerate(target)}
    staying = set(_longest_increasing([rank[item] for item in current]))
    for index, item in enumerate(target):
        if index in staying:
            continue
        source = current.index(item)
        del current[source]
        destination = current.index(target[index - 1]) + 1 if index else 0
        current.insert(destination, item)
        if source != destination:
            out.append({"p": [*path, source], "lm": destination})


def _longest_increasing(values: Sequence[int]) -> list[int]:
    """A longest strictly increasing subsequence of ``values`` (patience sorting)."""
    tails: list[int] = []
    tail_at: list[int] = []
    previous = [-1] * len(values)
    for i, value in enumerate(values):
        place = bisect_left(tails, value)
        if place:
            previous[i] = tail_at[place - 1]
        if place == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[place] = value
            tail_at[place] = i
    result: list[int] = []
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        result.append(values[i])
        i = previous[i]
    return result[::-1]


_DOCUMENT_FIELDS: dict[str, Handler] = {
    "title": _text,
    "description": _text,
    "widgets": _widgets,
    "layout": _layout,
}


def _document_field(key: str) -> Handler | None:
    return _DOCUMENT_FIELDS.get(key)
