"""Transforming one json0 component against another, exactly as ``ot-json0@1.1.0`` does.

The rules are the reference's, branch for branch, including its quirks, because a browser
running the reference must reach the same document as the server:

- a component at or under something the other side deleted or replaced disappears;
- list indexes shift around the other side's inserts, deletes and moves;
- a delete (``ld``/``od``) of a value the other side changed inside is updated to delete the
  changed value (so the op stays invertible);
- two inserts at one list index or object key: ``"left"`` goes first (or wins the key);
- same-path subtype components transform with the subtype; ``si``/``sd`` pairs go through
  text0 and come back as ``si``/``sd``.

Updating a delete's value applies the other component to it with :mod:`ot.json0.apply`, which
refuses what does not fit (:class:`ApplyError`/:class:`PathError`) where the reference
sometimes carries on; that only happens when the two ops cannot both apply to one document.

Known reference behaviour kept as is: string edits of different kinds on one string
(``si``/``sd``, a text0 op, a text-unicode op) pass each other untransformed, so they do not
converge (see the tests); and the ``oi`` tie rule writes its ``od`` at the inserting
component's own path even when that is deeper than the other's.
"""

from __future__ import annotations

from typing import Any

from ot.json0.apply import apply_op
from ot.json0.check import Component, Op
from ot.json0.compare import at, gt, le, loose_eq, lt, step
from ot.json0.compose import append, clone, from_text, to_text
from ot.json0.subtypes import find_subtype
from ot.subtype import Side


def _length(c: Component) -> int:
    """The length of the path to what ``c`` acts on (``na`` and ``t`` act on ``p`` itself)."""
    return len(c["p"]) + (1 if "na" in c or c.get("t") else 0)


def _common(a_path: list[Any], a_len: int, b_path: list[Any], b_len: int) -> int | None:
    """Where ``a``'s operand sits along ``b``'s path: ``None`` when ``a`` cannot affect ``b``.

    ``a_len`` and ``b_len`` are the components' :func:`_length`. ``-1`` when ``a`` acts on the
    whole document.
    """
    if a_len == 0:
        return -1
    if b_len < a_len or b_len == 0:
        return None
    a_len -= 1
    for i in range(a_len):
        if a_path[i] != b_path[i]:
            return None
    return a_len


def transform_component(dest: Op, c: Component, other: Component, side: Side) -> Op:
    """Append to ``dest`` what ``c`` becomes once ``other`` has been applied."""
    c_len, other_len = _length(c), _length(other)
    other_in_c = _common(other["p"], other_len, c["p"], c_len)
    c_in_other = _common(c["p"], c_len, other["p"], other_len)
    return _transform(dest, c, other, side, c_len, other_len, other_in_c, c_in_other)


def transform_pair(dest: Op, left: Component, right: Component) -> Op:
    """``transform_component(dest, left, right, "left")``, and what ``right`` becomes after
    ``left`` (returned), with the lengths and common prefixes the two share computed once.

    A pair in which neither operand lies along the other's path (the usual case: edits of
    different widgets) passes through unchanged; ``right`` is returned as it is, as nothing
    changes a component it did not copy itself.
    """
    left_path, right_path = left["p"], right["p"]
    left_len, right_len = _length(left), _length(right)
    if left_len and right_len:
        # Both :func:`_common` are None exactly when the paths part before the shorter
        # operand ends; checked inline, as most pairs are like that.
        for i in range(min(left_len, right_len) - 1):
            if left_path[i] != right_path[i]:
                append(dest, left)
                return [right]
    left_in_right = _common(left_path, left_len, right_path, right_len)
    right_in_left = _common(right_path, right_len, left_path, left_len)
    _transform(dest, left, right, "left", left_len, right_len, right_in_left, left_in_right)
    return _transform([], right, left, "right", right_len, left_len, left_in_right, right_in_left)


def _transform(
    dest: Op,
    c: Component,
    other: Component,
    side: Side,
    c_len: int,
    other_len: int,
    common: int | None,
    common2: int | None,
) -> Op:
    """:func:`transform_component` given the two lengths, where ``other``'s operand sits along
    ``c``'s path (``common``) and where ``c``'s sits along ``other``'s (``common2``)."""
    if common is None and (common2 is None or other_len <= c_len):
        append(dest, c)
        return dest

    c = clone(c)
    if (
        common2 is not None
        and other_len > c_len
        and loose_eq(at(c["p"], common2), at(other["p"], common2))
    ):
        # ``other`` changes something inside what ``c`` deletes: delete the changed value.
        for field in ("ld", "od"):
            if field in c:
                inner = clone(other)
                inner["p"] = inner["p"][c_len:]
                c[field] = apply_op(c[field], [inner])
                break

    if common is None:
        append(dest, c, fresh=True)
        return dest

    same_operand = c_len == other_len
    theirs = other
    if (c.get("si") is not None or c.get("sd") is not None) and (
        other.get("si") is not None or other.get("sd") is not None
    ):
        from_text(c)
        theirs = clone(other)
        from_text(theirs)

    subtype = find_subtype(theirs.get("t"))
    if subtype is not None:
        if c.get("t") and c["t"] == theirs["t"]:
            result = subtype.transform(c["o"], theirs["o"], side)
            if c.get("si") is not None or c.get("sd") is not None:
                base = c["p"]
                for piece in result:
                    part = dict(c)
                    part["o"] = [piece]
                    part["p"] = list(base)
                    to_text(part)
                    append(dest, part, fresh=True)
            elif type(result) is not list or result:
                c["o"] = result
                append(dest, c, fresh=True)
            return dest
    elif "na" in other:
        pass
    elif "li" in other or "ld" in other or "lm" in other:
        if not _against_list(c, other, side, common, c_len, other_len):
            return dest
    elif not _against_object(dest, c, other, side, common, same_operand):
        return dest

    append(dest, c, fresh=True)
    return dest


def _against_list(
    c: Component, other: Component, side: Side, common: int, c_len: int, other_len: int
) -> bool:
    """Adjust ``c`` for ``other``'s list change; ``False`` when ``c`` disappears."""
    same_operand = c_len == other_len
    path = c["p"]
    # The index each side names at the level of the list ``other`` changes (``mine`` may be a
    # key, or UNDEF, when ``c`` is not in that list).
    mine, theirs = at(path, common), at(other["p"], common)

    if "li" in other and "ld" in other:
        if theirs == mine:
            if not same_operand:
                return False
            if "ld" in c:
                if "li" in c and side == "left":
                    c["ld"] = other["li"]
                else:
                    return False
        return True

    if "li" in other:
        if "li" in c and "ld" not in c and same_operand and mine == theirs:
            if side == "right":
                path[common] = step(mine, 1)
        elif le(theirs, mine):
            path[common] = step(mine, 1)
        if "lm" in c and same_operand and le(theirs, c["lm"]):
            c["lm"] += 1
        return True

    if "ld" in other:
        if "lm" in c and same_operand:
            if theirs == mine:
                return False
            to = c["lm"]
            if lt(theirs, to) or (theirs == to and lt(mine, to)):
                c["lm"] -= 1
        if lt(theirs, mine):
            path[common] = step(mine, -1)
        elif theirs == mine:
            if other_len < c_len:
                return False
            if "ld" in c:
                if "li" not in c:
                    return False
                del c["ld"]
        return True

    if "lm" in c and same_operand:
        return _move_against_move(c, other, side, common)
    other_to = other["lm"]
    if "li" in c and "ld" not in c and same_operand:
        if gt(mine, theirs):
            path[common] = step(path[common], -1)
        if gt(mine, other_to):
            path[common] = step(path[common], 1)
    elif mine == theirs:
        # Whatever ``c`` does to the moved element (or inside it) follows it.
        path[common] = other_to
    else:
        if gt(mine, theirs):
            path[common] = step(path[common], -1)
        if gt(mine, other_to) or (mine == other_to and gt(theirs, other_to)):
            path[common] = step(path[common], 1)
    return True


def _move_against_move(c: Component, other: Component, side: Side, common: int) -> bool:
    """``lm`` against ``lm`` in the same list: where the element goes, and where it goes to."""
    path = c["p"]
    start, to = path[common], c["lm"]
    other_start, other_to = other["p"][common], other["lm"]
    if other_start == other_to:
        return True
    if start == other_start:
        # Both moved the same element: left's destination wins, right's move is dropped.
        if side != "left":
            return False
        path[common] = other_to
        if start == to:
            c["lm"] = other_to
        return True
    if gt(start, other_start):
        path[common] = step(path[common], -1)
    if gt(start, other_to):
        path[common] = step(path[common], 1)
    elif start == other_to and gt(other_start, other_to):
        path[common] = step(path[common], 1)
        if start == to:
            c["lm"] += 1
    if gt(to, other_start) or (to == other_start and gt(to, start)):
        c["lm"] -= 1
    if gt(to, other_to):
        c["lm"] += 1
    elif to == other_to:
        if (gt(other_to, other_start) and gt(to, start)) or (
            lt(other_to, other_start) and lt(to, start)
        ):
            if side == "right":
                c["lm"] += 1
        elif gt(to, start):
            c["lm"] += 1
        elif to == other_start:
            c["lm"] -= 1
    return True


def _against_object(
    dest: Op, c: Component, other: Component, side: Side, common: int, same_operand: bool
) -> bool:
    """Adjust ``c`` for ``other``'s object change; ``False`` when ``c`` disappears."""
    mine, theirs = at(c["p"], common), at(other["p"], common)
    if "oi" in other and "od" in other:
        if mine == theirs:
            if "oi" not in c or not same_operand or side == "right":
                return False
            c["od"] = other["oi"]
    elif "oi" in other:
        if "oi" in c and mine == theirs:
            if side != "left":
                return False
            append(dest, {"p": list(c["p"]), "od": other["oi"]}, fresh=True)
    elif "od" in other and loose_eq(mine, theirs):
        if not same_operand or "oi" not in c:
            return False
        c.pop("od", None)
    return True
