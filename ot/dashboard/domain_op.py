"""A domain op's shape: its fields per type, parsed and checked before it meets a document.

The grammar of each type and the json0 it becomes are in :mod:`ot.dashboard.ops`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ot.dashboard.document import MAX_TEXT, check_json
from ot.errors import DocumentError, InvalidOpError

OPERATION_TYPES = (
    "insert",
    "delete",
    "update",
    "move",
    "resize",
    "format",
    "addWidget",
    "removeWidget",
)

_MAX_PATH = 64

# Fields each type requires and allows; anything else (not null) is a malformed op.
_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "addWidget": (frozenset({"targetId", "value"}), frozenset({"position"})),
    "removeWidget": (frozenset({"targetId"}), frozenset()),
    "move": (frozenset({"targetId", "value"}), frozenset()),
    "resize": (frozenset({"targetId", "value"}), frozenset()),
    "update": (frozenset({"path"}), frozenset({"targetId", "value", "oldValue"})),
    "insert": (frozenset({"path", "position", "value"}), frozenset({"targetId", "attributes"})),
    "delete": (frozenset({"path", "position", "length"}), frozenset({"targetId"})),
    "format": (frozenset({"path", "position", "length", "attributes"}), frozenset({"targetId"})),
}
_ALL_FIELDS = frozenset({"type"}).union(*(req | opt for req, opt in _FIELDS.values()))


@dataclass(frozen=True)
class DomainOp:
    """A domain op as :func:`parse_domain_op` found it; ``has_value`` and ``has_old_value``
    tell an absent value from JSON null."""

    type: str
    target_id: str | None = None
    path: tuple[str | int, ...] = ()
    has_value: bool = False
    value: Any = None
    has_old_value: bool = False
    old_value: Any = None
    position: int | None = None
    length: int | None = None
    attributes: dict[str, Any] | None = None


def parse_domain_op(raw: object) -> DomainOp:
    """Check the shape of a domain op dict (not its fit to a document) and parse it."""
    if not isinstance(raw, Mapping):
        raise InvalidOpError("a domain op is an object")
    op_type = raw.get("type")
    if not isinstance(op_type, str) or op_type not in _FIELDS:
        raise InvalidOpError(f"a domain op's type is one of {', '.join(OPERATION_TYPES)}")
    null_is_value = op_type == "update"
    present = {
        key
        for key, item in raw.items()
        if key != "type" and (item is not None or (null_is_value and key in ("value", "oldValue")))
    }
    required, optional = _FIELDS[op_type]
    for key in present:
        if key not in _ALL_FIELDS:
            raise InvalidOpError(f"unknown field in a domain op: {key!r}")
        if key not in required and key not in optional:
            raise InvalidOpError(f"a {op_type} op has no field {key!r}")
    missing = sorted(required - present)
    if missing:
        raise InvalidOpError(f"a {op_type} op needs {missing[0]!r}")
    target_id = raw.get("targetId")
    if target_id is not None and not isinstance(target_id, str):
        raise InvalidOpError("targetId must be a string")
    path = _parse_path(raw["path"]) if "path" in present else ()
    for key in ("value", "oldValue"):
        if key in present:
            check_value(raw[key], key)
    attributes = raw.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict) or not attributes:
            raise InvalidOpError("attributes must be a non-empty object")
        check_value(attributes, "attributes")
    return DomainOp(
        type=op_type,
        target_id=target_id,
        path=path,
        has_value="value" in present,
        value=raw.get("value"),
        has_old_value="oldValue" in present,
        old_value=raw.get("oldValue"),
        position=_parse_count(raw.get("position"), "position", 0),
        length=_parse_count(raw.get("length"), "length", 1),
        attributes=attributes,
    )


def _parse_path(path: object) -> tuple[str | int, ...]:
    if not isinstance(path, list) or len(path) > _MAX_PATH:
        raise InvalidOpError(f"path must be a list of at most {_MAX_PATH} keys")
    for key in path:
        valid_index = isinstance(key, int) and not isinstance(key, bool) and key >= 0
        if not isinstance(key, str) and not valid_index:
            raise InvalidOpError("path keys are strings or list indexes >= 0")
    return tuple(path)


def _parse_count(value: object, name: str, low: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_TEXT:
        raise InvalidOpError(f"{name} must be an integer between {low} and {MAX_TEXT}")
    return value


def check_value(value: object, name: str) -> None:
    try:
        check_json(value, (name,))
    except DocumentError as error:
        raise InvalidOpError(f"{name} is not plain JSON: {error.message}") from error
