"""Whole-op transform built from a component transform, as json0 and text0 both need it.

An op is a list of components; transforming two ops means transforming every component of one
through every component of the other, while each side keeps the other's components current.
``transform_component(dest, c, other, side)`` appends to ``dest`` what ``c`` becomes once
``other`` has happened (zero, one or several components); ``append(dest, c)`` adds a component
to an op, merging it with the previous one where the type can. A type may also give
``pair(dest, left, right)``, which does both component transforms of one step of the loop at
once (appending ``left`` transformed to ``dest``, returning ``right`` transformed), so that
what the two share is computed once.

The order of the loops, the recursion when a component splits in two, and the shortcuts of
:func:`transform` are those of the reference ``bootstrapTransform``: the results must come out
in exactly the reference's shape (same components, same order), not merely be equivalent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ot.errors import InvalidOpError
from ot.subtype import Side

TransformComponent = Callable[[list[Any], Any, Any, Side], list[Any]]
Append = Callable[[list[Any], Any], None]
TransformPair = Callable[[list[Any], Any, Any], list[Any]]


def transform_x(
    left: list[Any],
    right: list[Any],
    component: TransformComponent,
    append: Append,
    pair: TransformPair | None = None,
) -> tuple[list[Any], list[Any]]:
    """``(left', right')``: ``left`` after ``right`` (left wins ties) and the converse."""
    try:
        return _transform_x(left, right, component, append, pair)
    except RecursionError:
        # Each split component recurses once more over the rest of ``left``, so only ops with
        # hundreds of splitting components get here; refuse them rather than crash.
        raise InvalidOpError("ops too large to transform against each other") from None


def _transform_x(
    left: list[Any],
    right: list[Any],
    component: TransformComponent,
    append: Append,
    pair: TransformPair | None,
) -> tuple[list[Any], list[Any]]:
    new_right: list[Any] = []
    for right_component in right:
        current: Any = right_component
        new_left: list[Any] = []
        k = 0
        while k < len(left):
            if pair is None:
                next_c: list[Any] = []
                component(new_left, left[k], current, "left")
                component(next_c, current, left[k], "right")
            else:
                next_c = pair(new_left, left[k], current)
            k += 1
            if len(next_c) == 1:
                current = next_c[0]
                continue
            if next_c:
                # ``current`` split in two: carry every piece through the rest of ``left``.
                rest_left, rest_right = _transform_x(left[k:], next_c, component, append, pair)
                for c in rest_left:
                    append(new_left, c)
                for c in rest_right:
                    append(new_right, c)
            else:
                for c in left[k:]:
                    append(new_left, c)
            current = None
            break
        if current is not None:
            append(new_right, current)
        left = new_left
    return left, new_right


def transform(
    op: list[Any],
    other: list[Any],
    side: Side,
    component: TransformComponent,
    append: Append,
    pair: TransformPair | None = None,
) -> list[Any]:
    """``op`` rewritten to apply after ``other``; ``side`` breaks ties (``"left"`` goes first)."""
    if not other:
        return list(op)
    if len(op) == 1 and len(other) == 1:
        return component([], op[0], other[0], side)
    if side == "left":
        return transform_x(op, other, component, append, pair)[0]
    return transform_x(other, op, component, append, pair)[1]
