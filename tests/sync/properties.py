"""Random dashboards, random offline edits and random concurrent server edits, and what every
sync of them must satisfy (used by the property tests that go through the endpoint)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from ot.dashboard.document import validate_document

ABSENT = object()
TEXT_FIELDS = {("title",), ("description",)}
IDS = ("a", "b", "c", "d")
NEW_IDS = ("n1", "n2")

titles = st.text(alphabet="abcxyz ", max_size=6)
scalars = st.one_of(st.integers(0, 9), st.sampled_from(["red", "blue", "ms"]), st.booleans())


def _widget(title: str, x: int) -> dict[str, Any]:
    return {"type": "chart", "title": title,
            "position": {"x": x, "y": 0, "width": 2, "height": 2},
            "config": {"unit": "ms"}, "data": {}, "isLocked": False}  # fmt: skip


@st.composite
def bases(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True))
    widgets = {i: _widget(draw(titles), draw(st.integers(0, 9))) for i in ids}
    return {"title": draw(titles), "description": "", "settings": {"theme": "dark"},
            "widgets": widgets, "layout": list(ids)}  # fmt: skip


@st.composite
def edits(draw: st.DrawFn, base: dict[str, Any], new_ids: tuple[str, ...]) -> dict[str, Any]:
    """``base`` after a few random edits (never changing what the schema forbids)."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        ids = sorted(doc["widgets"])
        kind = draw(st.sampled_from(["x", "title", "config", "lock", "add", "delete", "doc",
                                     "setting", "reorder"]))  # fmt: skip
        if kind == "add":
            fresh = [i for i in new_ids if i not in doc["widgets"]]
            if fresh:
                doc["widgets"][fresh[0]] = _widget(draw(titles), draw(st.integers(0, 9)))
                doc["layout"].append(fresh[0])
        elif kind == "doc":
            doc["title"] = draw(titles)
        elif kind == "setting":
            doc["settings"][draw(st.sampled_from(["theme", "grid"]))] = draw(scalars)
        elif kind == "reorder" and len(doc["layout"]) > 1:
            doc["layout"] = draw(st.permutations(doc["layout"]))
        elif ids and kind in ("x", "title", "config", "lock", "delete"):
            w = draw(st.sampled_from(ids))
            if kind == "delete":
                del doc["widgets"][w]
                doc["layout"].remove(w)
            elif kind == "x":
                doc["widgets"][w]["position"]["x"] = draw(st.integers(0, 9))
            elif kind == "title":
                doc["widgets"][w]["title"] = draw(titles)
            elif kind == "config":
                doc["widgets"][w]["config"][draw(st.sampled_from(["unit", "color"]))] = draw(
                    scalars
                )
            else:
                doc["widgets"][w]["isLocked"] = not doc["widgets"][w]["isLocked"]
    return doc


def leaves(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every scalar of a document by path; text fields and the layout are leaves too."""
    if isinstance(doc, dict) and path not in TEXT_FIELDS and path[-1:] != ("title",):
        for key, value in doc.items():
            if path == () and key == "layout":
                continue
            yield from leaves(value, (*path, key))
    else:
        yield path, doc


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return ABSENT
        doc = doc[key]
    return doc


def related(p: tuple[Any, ...], q: tuple[Any, ...]) -> bool:
    return p[: len(q)] == q or q[: len(p)] == p


def check_sync(
    base: dict[str, Any],
    local: dict[str, Any],
    remote: dict[str, Any],
    strategy: str,
    answer: dict[str, Any],
) -> None:
    """What a sync of ``local`` (from ``base``) against a server at ``remote`` must give."""
    result = answer["document"]
    validate_document(result)
    resolved = {tuple(r["path"]): r["resolution"] for r in answer["conflict_resolutions"]}
    paths = {p for doc in (base, local, remote) for p, _ in leaves(doc)}
    for path in paths:
        if any(related(path, r) for r in resolved):
            continue
        b, mine, theirs = at(base, path), at(local, path), at(remote, path)
        if mine != b and theirs == b:
            assert at(result, path) == mine, (path, "the client's change is lost")
        elif theirs != b and mine == b:
            assert at(result, path) == theirs, (path, "the server's change is lost")
    for path, how in resolved.items():
        if how == "local-won":
            assert strategy in ("local-wins", "merge"), (path, how, strategy)
            assert at(result, path) == at(local, path), (path, how)
        elif how == "remote-won":
            assert strategy in ("remote-wins", "merge"), (path, how, strategy)
            assert at(result, path) == at(remote, path), (path, how)


def as_patch(base: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """The patch form of ``local``'s changes from ``base``."""
    from ot.dashboard.patch import apply_patch

    before, after = base["widgets"], local["widgets"]
    patch: dict[str, Any] = {
        "added": {w: v for w, v in after.items() if w not in before},
        "deleted": [w for w in before if w not in after],
        "updated": {
            w: {k: v for k, v in after[w].items() if before[w].get(k) != v}
            for w in after
            if w in before and after[w] != before[w]
        },
        "fields": {
            k: local[k] for k in ("title", "description", "settings") if local[k] != base[k]
        },
    }
    if apply_patch(base, patch)["layout"] != local["layout"]:
        patch["fields"]["layout"] = local["layout"]
    return patch
