"""Strict validation of json0 ops and JSON values.

Validation is syntactic, like the reference's transform: paths are lists of keys (``str``)
and indexes (``int >= 0``), and whether a key or an index fits the container it names is
only checked when the op meets a document (:mod:`ot.json0.apply`). Everything a public json0
function receives passes through here first, so the algorithms behind it can index freely.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, Final

from ot.errors import DocumentError, InvalidOpError, OTError
from ot.json0.subtypes import get_subtype
from ot.jsvalue import Strict, is_number, json_problem

Component = dict[str, Any]
Op = list[Component]

# Every key set a component may have, and what it is.
_KINDS: Final = {
    frozenset({"p", "na"}): "na",
    frozenset({"p", "li"}): "li",
    frozenset({"p", "ld"}): "li",
    frozenset({"p", "li", "ld"}): "li",
    frozenset({"p", "lm"}): "lm",
    frozenset({"p", "oi"}): "oi",
    frozenset({"p", "od"}): "oi",
    frozenset({"p", "oi", "od"}): "oi",
    frozenset({"p", "si"}): "si",
    frozenset({"p", "sd"}): "si",
    frozenset({"p", "t", "o"}): "t",
}
_PLAIN: Final = Strict()  # finite numbers and string keys; as deep and as large as it likes
_SAYS: Final = {
    "key": "object keys must be strings",
    "number": "numbers must be finite",
    "huge": "numbers must be finite",
    "integer": "integers must lie within +-(2**53 - 1)",
    "nul": "strings may not contain U+0000",
    "surrogate": "strings may not contain a lone surrogate",
}


def check_json(value: Any, error: type[OTError] = InvalidOpError, strict: Strict = _PLAIN) -> None:
    """Raise ``error`` unless ``value`` is plain JSON (finite numbers, string keys), and as
    strict as ``strict`` asks."""
    problem = json_problem(value, strict)
    if problem is None:
        return
    if problem.reason == "depth":
        raise error(f"nested deeper than {strict.max_depth} levels")
    says = _SAYS.get(problem.reason)
    raise error(says or f"{type(problem.value).__name__} is not a JSON value")


def copy_json(value: Any) -> Any:
    """A deep copy of ``value``, which must be plain JSON (:class:`DocumentError`)."""
    check_json(value, DocumentError)
    if type(value) is not list and type(value) is not dict:
        return value
    root: Any = [] if type(value) is list else {}
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = enumerate(source) if type(source) is list else source.items()
        for k, item in items:
            if type(item) is list or type(item) is dict:
                fresh: Any = [] if type(item) is list else {}
                stack.append((item, fresh))
                item = fresh
            if type(target) is list:
                target.append(item)
            else:
                target[k] = item
    return root


def check_path(path: Any) -> None:
    if type(path) is not list:
        raise InvalidOpError("a path is a list of keys and indexes")
    for key in path:
        if type(key) is str or (type(key) is int and key >= 0):
            continue
        raise InvalidOpError(f"path element {key!r} is neither a key nor an index >= 0")


def kind(c: Component) -> str:
    """``na``, ``li`` (also ``ld``, ``li``+``ld``), ``lm``, ``oi`` (also ``od``), ``si``, ``t``."""
    return _KINDS[frozenset(c)]


def check_component(
    c: Any, known: Container[tuple[Any, int]] | None = None, *, walked: bool = False
) -> None:
    """Raise :class:`InvalidOpError` unless ``c`` is a well-formed component.

    ``known`` is for components transform derived from checked ones (see
    :mod:`ot.json0.checked`): their ``li``/``ld``/``oi``/``od`` values are taken as JSON, and
    a subtype op listed there as ``(t, id(o))`` as already checked. ``walked``: every value in
    ``c`` has been walked as JSON already (:func:`check_op` with a reader), so only the
    component's shape and its subtype op's grammar are checked.
    """
    if type(c) is not dict:
        raise InvalidOpError("a json0 component is an object")
    found = _KINDS.get(frozenset(c))
    if found is None:
        raise InvalidOpError(f"not a json0 component: fields {sorted(map(str, c))}")
    path = c["p"]
    check_path(path)
    if found == "na":
        if not is_number(c["na"]):
            raise InvalidOpError("na must be a finite number")
    elif found == "lm":
        if type(c["lm"]) is not int or c["lm"] < 0:
            raise InvalidOpError("lm must be an index >= 0")
        if not path:
            raise InvalidOpError("lm needs the path of a list element")
    elif found == "li":
        if not path:
            raise InvalidOpError("li/ld need the path of a list element")
        if known is None and not walked:
            check_json(c.get("li"))
            check_json(c.get("ld"))
    elif found == "oi":
        if known is None and not walked:
            check_json(c.get("oi"))
            check_json(c.get("od"))
    elif found == "si":
        text = c["si"] if "si" in c else c["sd"]
        if type(text) is not str:
            raise InvalidOpError("si/sd must be strings")
        if not path:
            raise InvalidOpError("si/sd need the path of a string position")
    else:
        subtype = get_subtype(c["t"])
        if known is not None and (c["t"], id(c["o"])) in known:
            return
        if not walked:
            check_json(c["o"])
        check_subtype_op = getattr(subtype, "check_op", None)
        if callable(check_subtype_op):
            check_subtype_op(c["o"])


def check_op(op: Any, strict: Strict | None = None) -> None:
    """Raise :class:`InvalidOpError` (or :class:`UnknownTypeError`) unless ``op`` is valid.

    With ``strict``, the whole op (paths, values, subtype ops) must also be JSON as strict as
    that reader wants, as the root of a document of its own (its depth counts from the op's
    list): one walk over it all, instead of one per value."""
    if type(op) is not list:
        raise InvalidOpError("a json0 op is a list of components")
    if strict is None:
        for c in op:
            check_component(c)
        return
    check_json(op, strict=strict)
    for c in op:
        check_component(c, walked=True)
