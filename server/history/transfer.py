"""Export a dashboard to a file, import one, make and use templates.

The file format, redaction and validation are :mod:`ot.dashboard.export`'s; this module reads
and writes the store around them. An export is the head document with credentials redacted
and the named versions' labels. An import is validated whole before anything is written, then
created in one statement (:meth:`PostgresStore.create_dashboard`): the new dashboard exists
completely or not at all. Version labels in a file describe the dashboard it came from; the
imported dashboard starts a history of its own at version 1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ot.dashboard import export
from ot.errors import DocumentError
from server.core.codes import Code
from server.core.errors import TandemError, ValidationFailed
from server.core.ids import DashboardId, UserId
from server.store.postgres import PostgresStore
from server.store.templates import Template, TemplateId, Templates
from server.store.versions import Versions


class ImportRefused(ValidationFailed):
    """The file is not a dashboard this server can import; ``path`` is where the first
    problem is (a JSON path into the file, as a list of keys and indexes), also given as
    ``errors[0].path`` (``$.dashboard.document…``) for an HTTP caller."""

    code = Code.IMPORT_INVALID

    def __init__(self, path: list[str | int], problem: str) -> None:
        pointer = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        super().__init__(f"{pointer}: {problem}", [{"path": pointer, "message": problem}])
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class ImportResult:
    dashboard_id: DashboardId
    dropped: tuple[tuple[str | int, ...], ...]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def export_dashboard(store: PostgresStore, dashboard_id: DashboardId) -> dict[str, Any]:
    """The export file of the dashboard's head, redacted (``redacted`` says how many)."""
    snapshot = await store.load(dashboard_id)
    named = await Versions(store).list_versions(dashboard_id)
    return export.export_file(
        snapshot.document,
        versions=[(v.version, v.label) for v in reversed(named)],
        exported_at=_now(),
    )


def check_import(raw: str | bytes | Any) -> export.Imported:
    """Validate an export file whole; ImportRefused with the path of the first problem."""
    try:
        return export.validate_import(_decoded(raw))
    except DocumentError as error:
        path, problem = export.error_path(error)
        raise ImportRefused(path, problem) from error


# Digits as zeros: a run of _LONG_NUMBER in the result is a number of 19 digits or more.
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def _decoded(raw: str | bytes | Any) -> Any:
    """A file's text decoded by orjson (twice as fast) when it gives what the standard decoder
    would; anything else is left to :func:`export.validate_import`, which decodes it and
    refuses what it must. orjson refuses more (NaN, lone surrogates, a byte order mark, other
    encodings, deep nesting: the standard decoder then decides) but reads integers beyond 64
    bits as floats, so a file with a number of 19 digits or more is left alone too."""
    if isinstance(raw, str):
        try:
            data = raw.encode()
        except UnicodeEncodeError:
            return raw
    elif isinstance(raw, bytes):
        data = raw
    else:
        return raw
    if len(data) > export.MAX_IMPORT_BYTES or _LONG_NUMBER in data.translate(_DIGITS):
        return raw
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return raw


async def import_dashboard(
    store: PostgresStore, raw: str | bytes | Any, *, owner_id: UserId
) -> ImportResult:
    """Create a new dashboard owned by ``owner_id`` from an export file, or nothing."""
    imported = check_import(raw)
    document = imported.document
    title = document.get("title")
    head = await store.create_dashboard(
        owner_id=owner_id,
        title=title if isinstance(title, str) else "",
        document=document,
        src=f"import:{secrets.token_hex(8)}",
    )
    return ImportResult(head.dashboard_id, imported.dropped)


def fresh_widget_id(_: str) -> str:
    return "w" + secrets.token_hex(8)


async def create_template(
    store: PostgresStore,
    templates: Templates,
    *,
    dashboard_id: DashboardId,
    owner_id: UserId,
    name: str,
    description: str = "",
    category: str = "general",
    public: bool = False,
) -> tuple[Template, int]:
    """A template of the dashboard's head with credentials redacted, and how many were."""
    snapshot = await store.load(dashboard_id)
    safe, count = export.redact(snapshot.document)
    template = await templates.create_template(
        owner_id=owner_id, name=name, document=safe, description=description,
        category=category, public=public, source=dashboard_id,
    )  # fmt: skip
    return template, count


async def template_copy(
    templates: Templates,
    *,
    template_id: TemplateId,
    user_id: UserId,
    title: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The document of a template the user may use (public, or their own), with fresh widget
    ids, ready to create a dashboard from. NotFound for any other template."""
    document = await templates.template_document(template_id, user_id)
    try:
        fresh = export.rekey_widgets(document, fresh_widget_id)
    except DocumentError as error:  # a template is checked when made; this is a bug
        raise TandemError(f"template {template_id} is not a valid dashboard") from error
    if title is not None:
        fresh["title"] = title
    if description is not None:
        fresh["description"] = description
    return fresh
