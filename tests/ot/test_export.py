"""Export files: secrets redacted on the way out, the whole file checked on the way in."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings

from ot.dashboard.document import MAX_TEXT, MAX_WIDGETS, validate_document
from ot.dashboard.export import (
    MAX_IMPORT_BYTES,
    REDACTED,
    error_path,
    export_file,
    looks_secret,
    redact,
    rekey_widgets,
    validate_import,
)
from ot.errors import DocumentError
from tests.ot.dashboard_strategies import board, documents

NOW = "2026-12-01T22:00:00Z"


def _secret_board() -> dict[str, Any]:
    doc = board("w1", "w2")
    doc["settings"] = {"theme": "dark", "auth": {"Authorization": "Bearer abc"}}
    doc["widgets"]["w1"]["config"] = {
        "source": {"url": "https://x", "apiKey": "k-1", "headers": [{"X-Auth-Token": "t"}]},
        "client_secret": {"nested": "s"},
        "tokenizer": "words",
        "color": "red",
    }
    doc["widgets"]["w2"]["data"] = {"password": "data is not config"}
    return doc


def test_redact_replaces_credentials_at_any_depth_of_config_and_settings() -> None:
    doc = _secret_board()
    before = copy.deepcopy(doc)
    safe, count = redact(doc)
    assert doc == before
    assert count == 5
    assert safe["settings"] == {"theme": "dark", "auth": {"Authorization": REDACTED}}
    assert safe["widgets"]["w1"]["config"] == {
        "source": {"url": "https://x", "apiKey": REDACTED, "headers": [{"X-Auth-Token": REDACTED}]},
        "client_secret": REDACTED,
        "tokenizer": REDACTED,
        "color": "red",
    }
    assert safe["widgets"]["w2"]["data"] == {"password": "data is not config"}
    assert redact(safe) == (safe, 0)
    validate_document(safe)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("apiKey", True),
        ("API_KEY", True),
        ("accessToken", True),
        ("PASSWORD", True),
        ("credentials", True),
        ("authorization", True),
        ("secretName", True),
        ("color", False),
        ("key", False),
        ("url", False),
    ],
)
def test_which_keys_look_like_credentials(key: str, secret: bool) -> None:
    assert looks_secret(key) is secret


def test_export_then_import_round_trips_but_for_redactions() -> None:
    doc = _secret_board()
    file = export_file(doc, versions=[(3, "draft"), (9, "launch")], exported_at=NOW)
    assert file["redacted"] == 5 and file["format_version"] == 1
    imported = validate_import(json.dumps(file))
    assert imported.document == redact(doc)[0]
    assert imported.versions == ((3, "draft"), (9, "launch"))
    assert imported.dropped == ()


@settings(max_examples=100, deadline=None)
@given(documents())
def test_every_valid_document_round_trips(doc: dict[str, Any]) -> None:
    text = json.dumps(export_file(doc, exported_at=NOW)).encode()
    assert validate_import(text).document == redact(doc)[0]


def test_unknown_fields_are_dropped_and_reported() -> None:
    file = export_file(board("w1"), exported_at=NOW)
    file["extra"] = 1
    file["dashboard"]["theme"] = "x"
    file["dashboard"]["document"]["owner"] = "me"
    file["dashboard"]["document"]["widgets"]["w1"]["colour"] = "red"
    file["dashboard"]["document"]["widgets"]["w1"]["position"]["depth"] = 3
    file["dashboard"]["document"]["widgets"]["w1"]["body"]["ops"][0]["retain"] = 1
    file["dashboard"]["document"]["widgets"]["w1"]["config"]["free"] = {"form": 1}
    imported = validate_import(file)
    assert sorted(imported.dropped_paths(), key=str) == sorted(
        [
            ["extra"],
            ["dashboard", "theme"],
            ["dashboard", "document", "owner"],
            ["dashboard", "document", "widgets", "w1", "colour"],
            ["dashboard", "document", "widgets", "w1", "position", "depth"],
            ["dashboard", "document", "widgets", "w1", "body", "ops", 0, "retain"],
        ],
        key=str,
    )
    assert imported.document["widgets"]["w1"]["config"] == {"free": {"form": 1}}
    validate_document(imported.document)


def _file(**changes: Any) -> dict[str, Any]:
    file = export_file(board("w1", "w2"), exported_at=NOW)
    for dotted, value in changes.items():
        *head, last = dotted.split("__")
        target: Any = file
        for key in head:
            target = target[int(key) if isinstance(target, list) else key]
        target[last] = value
    return file


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


def _many_widgets() -> dict[str, Any]:
    doc = board(*(f"w{i}" for i in range(MAX_WIDGETS + 1)))
    return export_file(doc, exported_at=NOW)


BROKEN: list[tuple[str, Any, list[Any]]] = [
    ("truncated", json.dumps(export_file(board("w1"), exported_at=NOW))[:-7], []),
    ("not JSON", b"\xff\xfe", []),
    ("NaN", '{"format": NaN}', []),
    ("a list", "[]", []),
    ("no format", {"format_version": 1, "dashboard": {}}, ["format"]),
    ("other format", _file(format="other"), ["format"]),
    ("future version", _file(format_version=2), ["format_version"]),
    ("version as text", _file(format_version="1"), ["format_version"]),
    (
        "no document",
        {"format": "tandem.dashboard", "format_version": 1, "dashboard": {}},
        ["dashboard", "document"],
    ),
    ("title not text", _file(dashboard__document__title=5), ["dashboard", "document", "title"]),
    ("huge title", _file(dashboard__document__title="x" * 501), ["dashboard", "document", "title"]),
    (
        "huge body",
        _file(dashboard__document__widgets__w1__body="x" * (MAX_TEXT + 1)),
        ["dashboard", "document", "widgets", "w1", "body"],
    ),
    (
        "bad position",
        _file(
            dashboard__document__widgets__w1__position={"x": -1, "y": 0, "width": 1, "height": 1}
        ),
        ["dashboard", "document", "widgets", "w1", "position", "x"],
    ),
    (
        "layout misses a widget",
        _file(dashboard__document__layout=["w1"]),
        ["dashboard", "document", "layout"],
    ),
    ("deep config", _file(dashboard__document__widgets__w1__config=_deep(40)), None),
    ("deep text", '{"a":' * 100_000 + "1" + "}" * 100_000, []),
    ("too many widgets", _many_widgets(), ["dashboard", "document", "widgets"]),
    (
        "bad versions",
        _file(dashboard__versions=[{"version": -1, "label": "x"}]),
        ["dashboard", "versions", 0, "version"],
    ),
    ("too big", " " * (MAX_IMPORT_BYTES + 1), []),
]


@pytest.mark.parametrize(("name", "raw", "path"), BROKEN, ids=[case[0] for case in BROKEN])
def test_a_broken_file_is_refused_with_the_path_of_its_first_problem(
    name: str, raw: Any, path: list[Any] | None
) -> None:
    with pytest.raises(DocumentError) as caught:
        validate_import(raw)
    found, problem = error_path(caught.value)
    assert problem
    if path is None:
        assert found[:4] == ["dashboard", "document", "widgets", "w1"]
    else:
        assert found == path


def test_rekey_widgets_gives_fresh_ids_everywhere() -> None:
    doc = board("a", "b", "c")
    fresh = rekey_widgets(doc, lambda old: f"new-{old}")
    assert fresh["layout"] == ["new-a", "new-b", "new-c"]
    assert fresh["widgets"]["new-b"] == doc["widgets"]["b"]
    assert doc["layout"] == ["a", "b", "c"]
    validate_document(fresh)
    with pytest.raises(DocumentError):
        rekey_widgets(doc, lambda old: "same")
    with pytest.raises(DocumentError):
        rekey_widgets(doc, lambda old: "")
