"""Building json0 ops component by component: append (the heart of compose and normalize), invert.

:func:`append` reproduces the reference's merging rules exactly, because transform and compose
results must match it component for component:

- two ``na`` on one path add up;
- ``li`` then an ``ld`` of the same primitive value cancel (JavaScript ``===``: containers
  never match, as the reference compares freshly cloned objects);
- ``od`` then ``oi`` become one replace; ``oi`` then ``od`` cancel or merge;
- a move to where the element already is is dropped, but only right after a component on
  the same path;
- two subtype components on one path compose with the subtype; ``si``/``sd`` go through text0
  for that and come back out as ``si``/``sd``.

Ops are values: components are copied (``p`` included) before anything changes them, and
their values are shared, never changed.
"""

from __future__ import annotations

from typing import Any

from ot.errors import InvalidOpError
from ot.json0.check import Component, Op
from ot.json0.subtypes import find_subtype, get_subtype
from ot.jsvalue import finite_sum, js_identical


def clone(c: Component) -> Component:
    """A copy of ``c`` that may be changed (``p`` is copied, values are shared)."""
    copy = dict(c)
    copy["p"] = list(c["p"])
    return copy


def from_text(c: Component) -> None:
    """Rewrite an ``si``/``sd`` component as a text0 subtype one (keeping ``si``/``sd``)."""
    piece: Component = {"p": c["p"].pop()}
    if c.get("si") is not None:
        piece["i"] = c["si"]
    if c.get("sd") is not None:
        piece["d"] = c["sd"]
    c["t"] = "text0"
    c["o"] = [piece]


def to_text(c: Component) -> None:
    """Undo :func:`from_text` with the (first) text0 component in ``c["o"]``."""
    piece = c["o"][0]
    c["p"].append(piece["p"])
    if piece.get("i") is not None:
        c["si"] = piece["i"]
    if piece.get("d") is not None:
        c["sd"] = piece["d"]
    c.pop("t", None)
    c.pop("o", None)


def _is_text(c: Component) -> bool:
    return c.get("si") is not None or c.get("sd") is not None


def _sum(a: Any, b: Any) -> Any:
    total = finite_sum(a, b)
    if total is None:
        raise InvalidOpError("na overflows")
    return total


def append(dest: Op, c: Component, fresh: bool = False) -> None:
    """Add ``c`` to the end of ``dest``, merging it into the last component where the rules say.

    ``fresh`` says ``c`` is already a private copy that may be changed.
    """
    if not fresh:
        c = clone(c)
    if not dest:
        dest.append(c)
        return
    last = dest[-1]
    both_text = _is_text(c) and _is_text(last)
    if both_text:
        from_text(c)
        from_text(last)
    if c["p"] != last["p"]:
        if both_text:
            to_text(c)
            to_text(last)
        dest.append(c)
        return
    subtype = find_subtype(c.get("t"))
    if c.get("t") and last.get("t") and c["t"] == last["t"] and subtype is not None:
        last["o"] = subtype.compose(last["o"], c["o"])
        if _is_text(c):
            _split_text(dest, c, last)
    elif "na" in last and "na" in c:
        dest[-1] = {"p": last["p"], "na": _sum(last["na"], c["na"])}
    elif "li" in last and "li" not in c and "ld" in c and js_identical(c["ld"], last["li"]):
        if "ld" in last:
            del last["li"]
        else:
            dest.pop()
    elif "od" in last and "oi" not in last and "oi" in c and "od" not in c:
        last["oi"] = c["oi"]
    elif "oi" in last and "od" in c:
        if "oi" in c:
            last["oi"] = c["oi"]
        elif "od" in last:
            del last["oi"]
        else:
            dest.pop()
    elif "lm" in c and c["p"] and c["p"][-1] == c["lm"]:
        pass
    else:
        dest.append(c)


def _split_text(dest: Op, c: Component, last: Component) -> None:
    """Turn the composed text0 op in ``last`` back into ``si``/``sd`` components.

    text0's compose of two single components gives one or two, so this peels off at most one,
    from the end, as the reference does.
    """
    pieces = list(last["o"])
    base = c["p"]
    count = 0
    while count < len(pieces) - 1:
        piece = dict(c)
        piece["o"] = [pieces.pop()]
        piece["p"] = list(base)
        to_text(piece)
        dest.append(piece)
        count += 1
    last["o"] = pieces
    to_text(last)


def compose(op1: Op, op2: Op) -> Op:
    """``op1`` then ``op2`` (both validated): ``op1`` as it is, ``op2`` appended."""
    dest = [clone(c) for c in op1]
    for c in op2:
        append(dest, c)
    return dest


def normalize(op: Op) -> Op:
    """``op`` (validated) rebuilt with :func:`append`."""
    dest: Op = []
    for c in op:
        append(dest, c)
    return dest


def _invert_component(c: Component) -> Component:
    inverse: Component = {"p": c["p"]}
    if "t" in c:
        inverse["t"] = c["t"]
        inverse["o"] = get_subtype(c["t"]).invert(c["o"])
    for key, opposite in (("si", "sd"), ("sd", "si"), ("oi", "od"), ("od", "oi")):
        if key in c:
            inverse[opposite] = c[key]
    for key, opposite in (("li", "ld"), ("ld", "li")):
        if key in c:
            inverse[opposite] = c[key]
    if "na" in c:
        inverse["na"] = -c["na"]
    if "lm" in c:
        inverse["lm"] = c["p"][-1]
        inverse["p"] = [*c["p"][:-1], c["lm"]]
    else:
        inverse["p"] = list(c["p"])
    return inverse


def invert(op: Op) -> Op:
    """The inverse of a validated ``op`` from the op alone (its ``ld``/``od`` must be right)."""
    return [_invert_component(c) for c in reversed(op)]
