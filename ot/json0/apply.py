"""Applying json0 ops without touching the input document.

Documents are treated as immutable values. Applying an op copies only the containers on the
paths it changes (each at most once per op) and shares everything else with the old document,
so a change costs the depth of its path plus the size of the containers it touches, not the
size of the document. Inserted values are shared with the op the same way. Nothing here ever
changes a container it did not create itself.

The reference mutates a copy of the whole document and trusts the op in places; here an op
that does not fit the document is refused instead: a path that does not exist, crosses the
wrong kind of value, or names an object key with a number or a list index with a string
(:class:`PathError`, where JavaScript would coerce), an ``od`` of a missing key
(:class:`PathError`, ignored there), a list index past the end (:class:`ApplyError`, where
JavaScript's ``splice`` clamps an insert, skips a delete, and a replace pads with nulls), and
``na`` on something that is not a number. Like the reference, ``ld``/``od`` are not compared
with the value they remove, while a string delete (``sd``, text0) is, and a string insert
past the end lands at the end (json0's transform relies on that, see :mod:`ot.text0`).
``{p: [], od}`` leaves ``None`` (the reference's ``undefined``).

With an ``inverse`` list, each component's exact inverse is appended as it is applied, read
from the document itself (the removed values, the old value an ``oi`` replaces), so the
inverse undoes the op even when the op's own ``ld``/``od`` are stale.
"""

from __future__ import annotations

from typing import Any

from ot import text0
from ot.errors import ApplyError, PathError
from ot.json0.check import Component, Op, kind
from ot.json0.subtypes import get_subtype
from ot.jsvalue import finite_sum, is_number


def _child(node: Any, key: Any) -> Any:
    if type(node) is dict:
        if type(key) is str and key in node:
            return node[key]
        raise PathError(f"the object has no key {key!r}")
    if type(key) is int and 0 <= key < len(node):
        return node[key]
    raise PathError(f"index {key!r} is not in a list of {len(node)}")


class _Draft:
    """The document being changed: containers copied so far are owned and change in place."""

    __slots__ = ("_last_node", "_last_path", "_owned", "root")

    def __init__(self, root: Any) -> None:
        # Read freely; replaced only through set_root().
        self.root = root
        # Keyed by id, holding the copies themselves so no id is reused while we rely on it.
        self._owned: dict[int, Any] = {}
        # The last container found and its path: an op's components often share one (a move
        # sets x and y). Every change is made in the container last found, or replaces the
        # root, so that container stays at its path until the root is replaced.
        self._last_path: list[Any] | None = None
        self._last_node: Any = None

    def set_root(self, value: Any) -> None:
        self.root = value
        self._last_path = None

    def _own(self, value: Any) -> Any:
        if type(value) is not dict and type(value) is not list:
            raise PathError("the path crosses a value that is neither an object nor a list")
        if id(value) in self._owned:
            return value
        copy = dict(value) if type(value) is dict else list(value)
        self._owned[id(copy)] = copy
        return copy

    def container(self, path: list[Any]) -> Any:
        """The object or list at ``path``, owned (so are all containers above it)."""
        if path == self._last_path:
            return self._last_node
        node = self.root = self._own(self.root)
        for key in path:
            child = self._own(_child(node, key))
            node[key] = child
            node = child
        self._last_path, self._last_node = path, node
        return node

    def slot(self, path: list[Any]) -> tuple[Any, Any]:
        """``(container, value)`` at ``path``, which must exist, the container owned (``None``
        for the root): one walk down the path, copying what it crosses."""
        if not path:
            return None, self.root
        parent = self.container(path[:-1])
        return parent, _child(parent, path[-1])

    def put(self, parent: Any, path: list[Any], value: Any) -> None:
        """Set the value at ``path`` in the ``parent`` :meth:`slot` gave for it."""
        if parent is None:
            self.set_root(value)
        else:
            parent[path[-1]] = value


def _added(old: Any, delta: Any) -> Any:
    if not is_number(old):
        raise ApplyError("na applies to a number")
    new = finite_sum(old, delta)
    if new is None:
        raise ApplyError("na overflows")
    return new


def _list(draft: _Draft, path: list[Any]) -> tuple[list[Any], int]:
    items = draft.container(path[:-1])
    index = path[-1]
    if type(items) is not list:
        raise PathError("li/ld/lm apply to an element of a list")
    if type(index) is not int:
        raise PathError(f"list index {index!r} is not an integer")
    return items, index


def _apply_list(draft: _Draft, c: Component, inverse: Op | None) -> None:
    path = c["p"]
    items, index = _list(draft, path)
    if "lm" in c:
        to = c["lm"]
        if to != index:
            if not (index < len(items) and to < len(items)):
                raise ApplyError(f"cannot move {index} to {to} in a list of {len(items)}")
            items.insert(to, items.pop(index))
        if inverse is not None:
            inverse.append({"p": [*path[:-1], to], "lm": index})
        return
    if "ld" in c:
        if index >= len(items):
            raise ApplyError(f"index {index} is not in a list of {len(items)}")
        if "li" in c:
            old = items[index]
            items[index] = c["li"]
            if inverse is not None:
                inverse.append({"p": list(path), "ld": c["li"], "li": old})
            return
        old = items.pop(index)
        if inverse is not None:
            inverse.append({"p": list(path), "li": old})
        return
    if index > len(items):
        raise ApplyError(f"cannot insert at {index} in a list of {len(items)}")
    items.insert(index, c["li"])
    if inverse is not None:
        inverse.append({"p": list(path), "ld": c["li"]})


def _apply_object(draft: _Draft, c: Component, inverse: Op | None) -> None:
    path = c["p"]
    undo: Component = {"p": list(path)}
    if not path:
        # The whole document: the reference's root container is always an object.
        old = draft.root
        draft.set_root(c.get("oi"))
        if "oi" in c:
            undo["od"] = c["oi"]
        undo["oi"] = old
    else:
        fields = draft.container(path[:-1])
        key = path[-1]
        if type(fields) is not dict:
            raise PathError("oi/od apply to a key of an object")
        if type(key) is not str:
            raise PathError(f"object key {key!r} is not a string")
        if "oi" in c:
            if key in fields:
                undo["oi"] = fields[key]
            fields[key] = c["oi"]
            undo["od"] = c["oi"]
        else:
            if key not in fields:
                raise PathError(f"the object has no key {key!r}")
            undo["oi"] = fields.pop(key)
    if inverse is not None:
        inverse.append(undo)


def _apply_string(draft: _Draft, c: Component, inverse: Op | None) -> None:
    path = c["p"]
    at = path[-1]
    if "si" in c:
        piece: Component = {"p": at, "i": c["si"]}
        undo: Component = {"p": list(path), "sd": c["si"]}
    else:
        piece = {"p": at, "d": c["sd"]}
        undo = {"p": list(path), "si": c["sd"]}
    target = path[:-1]
    parent, old = draft.slot(target)
    draft.put(parent, target, text0.apply(old, [piece]))
    if inverse is not None:
        inverse.append(undo)


def apply_op(snapshot: Any, op: Op, inverse: Op | None = None) -> Any:
    """``snapshot`` after the (validated) ``op``; inverse components go to ``inverse``."""
    draft = _Draft(snapshot)
    for c in op:
        found = kind(c)
        if found == "li" or found == "lm":
            _apply_list(draft, c, inverse)
        elif found == "oi":
            _apply_object(draft, c, inverse)
        elif found == "si":
            _apply_string(draft, c, inverse)
        elif found == "na":
            path = c["p"]
            parent, old = draft.slot(path)
            draft.put(parent, path, _added(old, c["na"]))
            if inverse is not None:
                inverse.append({"p": list(path), "na": -c["na"]})
        else:
            _apply_subtype(draft, c, inverse)
    return draft.root


def _apply_subtype(draft: _Draft, c: Component, inverse: Op | None) -> None:
    path = c["p"]
    subtype = get_subtype(c["t"])
    parent, old = draft.slot(path)
    if inverse is None:
        draft.put(parent, path, subtype.apply(old, c["o"]))
        return
    both = getattr(subtype, "apply_and_invert", None)
    if both is None:
        new = subtype.apply(old, c["o"])
        undo = subtype.invert_with_doc(c["o"], old)
    else:
        new, undo = both(old, c["o"])
    draft.put(parent, path, new)
    inverse.append({"p": list(path), "t": c["t"], "o": undo})
