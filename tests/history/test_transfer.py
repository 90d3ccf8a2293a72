"""Export and import: redacted round trip, a corpus of broken files each refused with a path and
creating nothing, templates with fresh widget ids, and the CLI's export / import / compact."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from server.cli import EXIT_OK, EXIT_PROBLEM, main
from server.core.codes import Code
from server.core.ids import UserId
from server.history.transfer import (
    ImportRefused,
    create_template,
    export_dashboard,
    import_dashboard,
    template_copy,
)
from server.store.accounts import Accounts
from server.store.postgres import PostgresStore
from server.store.templates import Templates
from server.store.versions import Versions
from tests.store.conftest import document, new_user, widget

SECRET_CONFIG = {"url": "https://x.test", "apiKey": "k-1", "auth": {"Password": "p", "user": "u"}}


def secret_document() -> dict[str, Any]:
    w1 = {**widget("CPU"), "config": SECRET_CONFIG}
    w2 = {**widget("Notes", 4), "type": "text", "body": {"ops": [{"insert": "hi\n"}]}}
    doc = document("Secrets", {"w1": w1, "w2": w2})
    doc["settings"] = {"theme": "dark", "token": "t-9"}
    return doc


def redacted(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as an export should carry it, written out by hand."""
    out = json.loads(json.dumps(doc))
    out["settings"]["token"] = "[REDACTED]"
    config = out["widgets"]["w1"]["config"]
    config["apiKey"] = "[REDACTED]"
    config["auth"]["Password"] = "[REDACTED]"
    return out


async def count_owned(store: PostgresStore, owner: UserId) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM dashboards WHERE owner_id = $1",
                                         owner))  # fmt: skip


async def test_export_import_round_trip_less_redactions(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    owner = await new_user(accounts)
    doc = secret_document()
    d = (await pg_store.create_dashboard(owner_id=owner, title="Secrets",
                                         document=doc)).dashboard_id  # fmt: skip
    await Versions(pg_store).name_version(d, label="v one")
    file = await export_dashboard(pg_store, d)
    assert (file["format"], file["format_version"], file["redacted"]) == ("tandem.dashboard", 1, 3)
    assert file["dashboard"]["versions"] == [{"version": 1, "label": "v one"}]
    assert "k-1" not in json.dumps(file) and "t-9" not in json.dumps(file)
    other = await new_user(accounts)
    result = await import_dashboard(pg_store, json.dumps(file).encode(), owner_id=other)
    assert result.dropped == ()
    assert (await pg_store.load(result.dashboard_id)).document == redacted(doc)
    # An unknown field is dropped and reported.
    file["dashboard"]["colour"] = "teal"
    again = await import_dashboard(pg_store, json.dumps(file), owner_id=other)
    assert again.dropped == (("dashboard", "colour"),)


def _valid() -> dict[str, Any]:
    return {"format": "tandem.dashboard", "format_version": 1,
            "dashboard": {"title": "x", "description": "", "document": document("x", {"w1": widget()}),
                          "versions": []}}  # fmt: skip


def _set(path: list[Any], value: Any) -> str:
    file = _valid()
    target: Any = file
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(file)


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


BROKEN: dict[str, tuple[str | bytes, list[Any]]] = {
    "truncated": (json.dumps(_valid())[:-7], []),
    "not json": (b"\xff\xfe not json", []),
    "NaN": (json.dumps(_valid()).replace('"y": 0', '"y": NaN', 1), []),
    "a list": ("[1, 2]", []),
    "unknown format version": (_set(["format_version"], 2), ["format_version"]),
    "version as text": (_set(["format_version"], "1"), ["format_version"]),
    "other format": (_set(["format"], "sharedb"), ["format"]),
    "widgets a list": (_set(["dashboard", "document", "widgets"], []),
                       ["dashboard", "document", "widgets"]),
    "x as text": (json.dumps(_valid()).replace('"x": 0', '"x": "0"', 1),
                  ["dashboard", "document", "widgets", "w1", "position", "x"]),
    "deep config": (_set(["dashboard", "document", "widgets", "w1", "config"], _deep(60)), []),
    "huge title": (_set(["dashboard", "document", "title"], "x" * 200_000),
                   ["dashboard", "document", "title"]),
    "no document": (json.dumps({"format": "tandem.dashboard", "format_version": 1,
                                "dashboard": {"title": "x"}}), ["dashboard", "document"]),
    "integer beyond 64 bits": (_set(["dashboard", "document", "widgets", "w1", "config"],
                                    {"n": 2**64}),
                               ["dashboard", "document", "widgets", "w1", "config", "n"]),
    "layout names a missing widget": (_set(["dashboard", "document", "layout"], ["w1", "w7"]),
                                      ["dashboard", "document", "layout"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
async def test_every_broken_file_is_refused_with_a_path_and_creates_nothing(
    pg_store: PostgresStore, accounts: Accounts, case: str
) -> None:
    owner = await new_user(accounts)
    raw, path = BROKEN[case]
    with pytest.raises(ImportRefused) as refused:
        await import_dashboard(pg_store, raw, owner_id=owner)
    assert refused.value.code == Code.IMPORT_INVALID
    assert refused.value.path[: len(path)] == path, refused.value.message
    assert await count_owned(pg_store, owner) == 0


async def test_template_is_redacted_and_instantiated_with_fresh_widget_ids(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    owner, user = await new_user(accounts), await new_user(accounts)
    doc = secret_document()
    d = (await pg_store.create_dashboard(owner_id=owner, title="S",
                                         document=doc)).dashboard_id  # fmt: skip
    templates = Templates(pg_store.pool.acquire)
    template, count = await create_template(pg_store, templates, dashboard_id=d, owner_id=owner,
                                            name="Ops board", public=True)  # fmt: skip
    assert count == 3
    made = await template_copy(templates, template_id=template.id, user_id=user, title="Mine")
    assert made["title"] == "Mine"
    assert not set(made["widgets"]) & set(doc["widgets"]) and len(made["widgets"]) == 2
    assert [made["widgets"][w]["title"] for w in made["layout"]] == ["CPU", "Notes"]
    assert "k-1" not in json.dumps(made)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_export_then_import(
    pg_store: PostgresStore, accounts: Accounts, migrated_url: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    owner = await new_user(accounts)
    user = await accounts.get_user(owner)
    d = (await pg_store.create_dashboard(owner_id=owner, title="S",
                                         document=secret_document())).dashboard_id  # fmt: skip
    out = tmp_path / "board.json"
    code, _, err = await _cli(capsys, "export", str(d), "--out", str(out))
    assert code == EXIT_OK and "3 value(s) redacted" in err
    code, text, _ = await _cli(capsys, "import", str(out), "--owner", user.username, "--json")
    assert code == EXIT_OK
    created = json.loads(text)
    assert (await pg_store.load(created["id"])).document == redacted(secret_document())
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "tandem.dashboard"')
    before = await count_owned(pg_store, owner)
    code, _, err = await _cli(capsys, "import", str(bad), "--owner", user.username)
    assert code == EXIT_PROBLEM and "is not valid JSON" in err
    assert await count_owned(pg_store, owner) == before
