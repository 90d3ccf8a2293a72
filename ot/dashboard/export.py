"""The dashboard export file, and what keeps it safe both ways: :func:`redact` on the way out,
:func:`validate_import` on the way in, :func:`rekey_widgets` for a template's fresh copy.

File format (format version 1)::

    {"format": "tandem.dashboard", "format_version": 1, "exported_at": "<RFC 3339>",
     "dashboard": {"title": str, "description": str, "document": document,
                   "versions": [{"version": int, "label": str}, ...]},
     "redacted": int}

Example::

    >>> safe, count = redact(doc)              # {"apiKey": "k-123"} -> {"apiKey": "[REDACTED]"}
    >>> file = export_file(doc, versions=[(12, "launch")], exported_at="2026-12-01T22:00:00Z")
    >>> imported = validate_import(json.dumps(file))
    >>> imported.document == safe, imported.dropped
    (True, ())

:func:`validate_import` checks a whole file before anything is created: that it is JSON
within :data:`MAX_IMPORT_BYTES` and nesting depth, the format and its version, the document
schema (:mod:`ot.dashboard.document`: sizes, widget count, depth). Fields the format does not
know are dropped and reported by path. Every refusal is a :class:`DocumentError` whose message
starts with the JSON path of the first problem in the file; :func:`error_path` reads it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ot.dashboard.document import (
    DOCUMENT_FIELDS,
    MAX_DEPTH,
    POSITION_FIELDS,
    POSITION_OPTIONAL_FIELDS,
    WIDGET_FIELDS,
    WIDGET_OPTIONAL_FIELDS,
    check_integer,
    check_text,
    check_widget_id,
    field_sets,
    is_rich_body,
    validate_document,
)
from ot.dashboard.paths import PathLike, fail
from ot.errors import DocumentError
from ot.jsvalue import MAX_SAFE_INTEGER

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_IMPORT_BYTES",
    "REDACTED",
    "Imported",
    "error_path",
    "export_file",
    "looks_secret",
    "redact",
    "rekey_widgets",
    "validate_import",
]

FORMAT: Final = "tandem.dashboard"
FORMAT_VERSION: Final = 1
REDACTED: Final = "[REDACTED]"
MAX_IMPORT_BYTES: Final = 16 * 1024 * 1024
MAX_LABEL = 200
# The file's own levels (file, dashboard, document, widgets, widget) above the free-form JSON.
_MAX_FILE_DEPTH: Final = MAX_DEPTH + 6

_SECRET_WORDS: Final = ("apikey", "token", "secret", "password", "credential", "authorization")
_NOT_ALPHANUMERIC: Final = re.compile(r"[^a-z0-9]")

Path = tuple[str | int, ...]


def looks_secret(key: str) -> bool:
    """Whether a key names a credential: ``apiKey``, ``api_key``, ``accessToken``,
    ``client-secret``, ``Password``, ``credentials``, ``Authorization``…"""
    folded = _NOT_ALPHANUMERIC.sub("", key.lower())
    return any(word in folded for word in _SECRET_WORDS)


def redact(document: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """``document`` with every value under a credential-like key (:func:`looks_secret`), at
    any depth of a widget's ``config`` or the dashboard's ``settings``, replaced by
    ``"[REDACTED]"``, and how many were replaced. The argument is not changed."""
    count = 0

    def scrub(value: Any) -> Any:
        nonlocal count
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if looks_secret(key) and item != REDACTED:
                    out[key] = REDACTED
                    count += 1
                else:
                    out[key] = scrub(item)
            return out
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    result = dict(document)
    if "settings" in result:
        result["settings"] = scrub(result["settings"])
    widgets = result.get("widgets")
    if isinstance(widgets, dict):
        result["widgets"] = {
            widget_id: {**widget, "config": scrub(widget["config"])}
            if isinstance(widget, dict) and "config" in widget
            else widget
            for widget_id, widget in widgets.items()
        }
    return result, count


def export_file(
    document: Mapping[str, Any], *, versions: Iterable[tuple[int, str]] = (), exported_at: str
) -> dict[str, Any]:
    """The export file of a dashboard (redacted), with its named versions' labels."""
    safe, count = redact(document)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": exported_at,
        "dashboard": {
            "title": safe.get("title", ""),
            "description": safe.get("description", ""),
            "document": safe,
            "versions": [{"version": version, "label": label} for version, label in versions],
        },
        "redacted": count,
    }


@dataclass(frozen=True)
class Imported:
    """A valid import: the document, the named versions' labels, the paths dropped."""

    document: dict[str, Any]
    versions: tuple[tuple[int, str], ...]
    dropped: tuple[Path, ...]

    def dropped_paths(self) -> list[list[str | int]]:
        return [list(path) for path in self.dropped]


def error_path(error: DocumentError) -> tuple[list[str | int], str]:
    """The JSON path and the problem of a DocumentError, for ``errors: [{path, message}]``."""
    try:
        path, end = json.JSONDecoder().raw_decode(error.message)
    except ValueError:
        return [], error.message
    if not isinstance(path, list):
        return [], error.message
    return path, error.message[end:].removeprefix(": ")


def validate_import(raw: str | bytes | Any) -> Imported:
    """Check an export file (its text, or the parsed JSON) whole; see the module docstring."""
    if isinstance(raw, str | bytes):
        raw = _parse(raw)
    _check_depth(raw)
    dropped: list[Path] = []
    top = _known(raw, (), ("format", "format_version", "dashboard"), _TOP_OPTIONAL, dropped)
    if top["format"] != FORMAT:
        fail(("format",), f"must be {FORMAT!r}")
    version = top["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version != FORMAT_VERSION:
        fail(("format_version",), f"is not a version this server reads ({FORMAT_VERSION})")
    if "exported_at" in top:
        check_text(top["exported_at"], ("exported_at",), 64)
    if "redacted" in top:
        check_integer(top["redacted"], ("redacted",), 0, 2**31)
    dashboard = _known(top["dashboard"], ("dashboard",), ("document",), _DASHBOARD, dropped)
    for field in ("title", "description"):
        if field in dashboard:
            check_text(dashboard[field], ("dashboard", field), 10_000)
    versions = _versions(dashboard.get("versions", []), dropped)
    document = _document(dashboard["document"], ("dashboard", "document"), dropped)
    try:
        validate_document(document)
    except DocumentError as error:
        path, problem = error_path(error)
        fail(("dashboard", "document", *path), problem)
    return Imported(document=document, versions=versions, dropped=tuple(dropped))


_TOP_OPTIONAL: Final = ("exported_at", "redacted")
_DASHBOARD: Final = ("title", "description", "versions")
_WIDGET_KNOWN: Final = (*WIDGET_FIELDS, *WIDGET_OPTIONAL_FIELDS)
_POSITION_KNOWN: Final = (*POSITION_FIELDS, *POSITION_OPTIONAL_FIELDS)


def _parse(raw: str | bytes) -> Any:
    if len(raw) > MAX_IMPORT_BYTES:
        fail((), f"is larger than {MAX_IMPORT_BYTES} bytes")

    def refuse(constant: str) -> Any:
        fail((), f"is not valid JSON: {constant} is not a number")

    try:
        return json.loads(raw, parse_constant=refuse)
    except RecursionError:
        fail((), f"nests deeper than {_MAX_FILE_DEPTH} levels")
    except (ValueError, UnicodeDecodeError) as error:
        fail((), f"is not valid JSON: {error}")


def _check_depth(value: Any) -> None:
    # Settle the common case a level at a time without paths; only a file that is too deep is
    # walked again, with paths, to name where.
    level = [value]
    for _ in range(_MAX_FILE_DEPTH):
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
        if not below:
            return
        level = below
    # The values at the deepest level allowed: anything inside them is too deep.
    if any(item for item in level if isinstance(item, dict | list)):
        _name_too_deep(value)


def _name_too_deep(value: Any) -> None:
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > _MAX_FILE_DEPTH:
            fail(path, f"nests deeper than {_MAX_FILE_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((child, (*path, key)) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))


def _known(
    value: Any,
    path: PathLike,
    required: Sequence[str],
    optional: Sequence[str],
    dropped: list[Path],
) -> dict[str, Any]:
    """``value``, an object, with only the fields the format knows (the rest reported): the
    object itself when it has no others, else a copy without them. Callers never change what
    they are given, so a file's values are shared, not copied, unless something was dropped."""
    if not isinstance(value, dict):
        fail(path, "must be an object")
    _, allowed = field_sets(tuple(required), tuple(optional))
    kept = value
    if not value.keys() <= allowed:
        kept = {}
        for key, item in value.items():
            if key in allowed:
                kept[key] = item
            else:
                dropped.append((*path, key))
    for key in required:
        if key not in kept:
            fail((*path, key), "is required")
    return kept


def _versions(value: Any, dropped: list[Path]) -> tuple[tuple[int, str], ...]:
    path = ("dashboard", "versions")
    if not isinstance(value, list):
        fail(path, "must be an array")
    out = []
    for index, item in enumerate(value):
        entry = _known(item, (*path, index), ("version", "label"), (), dropped)
        check_integer(entry["version"], (*path, index, "version"), 0, MAX_SAFE_INTEGER)
        check_text(entry["label"], (*path, index, "label"), MAX_LABEL)
        out.append((entry["version"], entry["label"]))
    return tuple(out)


def _document(value: Any, path: Path, dropped: list[Path]) -> dict[str, Any]:
    """The document with unknown fields dropped where the schema is closed; free-form
    ``settings``, ``config`` and ``data`` are kept as they are."""
    document = _known(value, path, (), DOCUMENT_FIELDS, dropped)
    widgets = document.get("widgets")
    if isinstance(widgets, dict):
        before = len(dropped)
        kept = {
            widget_id: _widget(widget, (*path, "widgets", widget_id), dropped)
            for widget_id, widget in widgets.items()
        }
        if len(dropped) > before:
            document = {**document, "widgets": kept}
    return document


def _widget(value: Any, path: Path, dropped: list[Path]) -> Any:
    if not isinstance(value, dict):
        return value
    widget = _known(value, path, (), _WIDGET_KNOWN, dropped)
    before = len(dropped)
    inner: dict[str, Any] = {}
    position = widget.get("position")
    if isinstance(position, dict):
        inner["position"] = _known(position, (*path, "position"), (), _POSITION_KNOWN, dropped)
    body = widget.get("body")
    if isinstance(body, dict):
        inner["body"] = _body(body, (*path, "body"), dropped)
    return {**widget, **inner} if len(dropped) > before else widget


def _body(value: dict[str, Any], path: Path, dropped: list[Path]) -> dict[str, Any]:
    body = _known(value, path, (), ("ops",), dropped)
    if is_rich_body(body) and isinstance(body["ops"], list):
        before = len(dropped)
        ops = [
            _known(op, (*path, "ops", index), (), ("insert", "attributes"), dropped)
            if isinstance(op, dict)
            else op
            for index, op in enumerate(body["ops"])
        ]
        if len(dropped) > before:
            body = {**body, "ops": ops}
    return body


def rekey_widgets(document: Mapping[str, Any], new_id: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a valid ``document`` whose widgets have the ids ``new_id(old_id)`` (in the
    widgets and the layout), for instantiating a template. DocumentError if the new ids are
    not valid widget ids or not distinct. Widget values are shared, not copied."""
    mapping = {widget_id: new_id(widget_id) for widget_id in document["widgets"]}
    for fresh in mapping.values():
        check_widget_id(fresh, ("widgets",))
    if len(set(mapping.values())) != len(mapping):
        fail(("widgets",), "new widget ids must be distinct")
    return {
        **document,
        "widgets": {mapping[key]: widget for key, widget in document["widgets"].items()},
        "layout": [mapping[widget_id] for widget_id in document["layout"]],
    }
