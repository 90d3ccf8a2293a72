"""Paths into a dashboard document: reading the value at one, and a copy with it replaced.

A path is a JSON path as json0 ops carry it (object keys and array indexes); every failure is
the :class:`DocumentError` of :func:`fail`, naming the path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, NoReturn

from ot.errors import DocumentError

PathLike = Sequence[str | int]


def fail(path: PathLike, problem: str) -> NoReturn:
    """Raise the DocumentError for ``problem`` at ``path``."""
    raise DocumentError(f"{json.dumps(list(path))}: {problem}")


# Reading a document that should be valid. Builders must stay total on anything, so each
# step checks the kind of what it steps into.


def widgets_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    widgets = doc.get("widgets")
    if not isinstance(widgets, dict):
        fail(("widgets",), "must be an object")
    return widgets


def layout_of(doc: Mapping[str, Any]) -> list[Any]:
    layout = doc.get("layout")
    if not isinstance(layout, list):
        fail(("layout",), "must be an array")
    return layout


def widget_of(doc: Mapping[str, Any], widget_id: str) -> dict[str, Any]:
    widget = widgets_of(doc).get(widget_id)
    if not isinstance(widget, dict):
        fail(("widgets", widget_id), "no such widget")
    return widget


ABSENT: Final = object()
"""Stands for "nothing here" where None would be JSON null."""


def lookup(doc: object, path: PathLike) -> Any:
    """The value at ``path``; ABSENT when only the last step is missing and could be added
    (a new object key, or the index just past the end of an array)."""
    node = doc
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, dict) and isinstance(key, str):
            if key not in node:
                if last:
                    return ABSENT
                fail(path[: depth + 1], "does not exist")
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and not isinstance(key, bool):
            if key >= len(node):
                if last and key == len(node):
                    return ABSENT
                fail(path[: depth + 1], "does not exist")
            node = node[key]
        else:
            fail(path[: depth + 1], "does not exist")
    return node


def replaced(doc: Any, path: PathLike, value: Any) -> Any:
    """A copy of ``doc`` with ``value`` at ``path`` (removed, for ABSENT), copying only the
    containers on the path: enough to validate a change without copying the document. The
    path must pass :func:`lookup` first."""
    if not path:
        return value
    head = path[0]
    child = replaced(doc[head], path[1:], value) if len(path) > 1 else value
    if isinstance(doc, dict):
        out_dict = dict(doc)
        if child is ABSENT:
            del out_dict[head]
        else:
            out_dict[head] = child
        return out_dict
    out_list = list(doc)
    assert isinstance(head, int)
    if child is ABSENT:
        del out_list[head]
    elif head == len(out_list):
        out_list.append(child)
    else:
        out_list[head] = child
    return out_list
