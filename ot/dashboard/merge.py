"""Three-way merge of an offline client's dashboard into the live one: :func:`merge`.

The client had document ``base`` (at its base version) and now has ``local``; the server has
committed ``remote_ops`` since, reaching ``head``. The client's changes, ``diff(base, local)``
(:mod:`ot.dashboard.diff`: text as text ops, so concurrent typing merges by character; layout
reorders as moves), are transformed past the server's and come out as one op against
``head``. Both sides' changes are compared in base coordinates, by the paths
``diff(base, local)`` and ``diff(base, head)`` change:

- a path only one side changed keeps that side's change;
- ``merged``: both edited the same text (OT interleaves them), both reordered the layout, or
  both made the same change;
- a *conflict*: both changed the same value, or one side replaced or deleted what the other
  changed inside (a widget one side removed and the other edited). The conflict's path is the
  shorter of the two, and the strategy picks a side for all of it:

  ``merge``       the newer change, when the client says when it made its changes
                  (``changed_at``) and the server's ops have times; else the server's
  ``local-wins``  the client's; ``remote-wins`` the server's
  ``manual``      nothing is applied if anything conflicts: the conflicts come back with
                  the base, local and remote values, for the client to choose and resubmit

Whatever wins, the layout then lists every widget once (a widget brought back by a winning
side goes where that side had it) and the result passes the document schema, or
:class:`DocumentError` says why not (for example more widgets than allowed). Example::

    >>> result = merge(base, local, remote_ops, "local-wins")
    >>> result.op                   # submit against the head
    >>> [r.as_json() for r in result.resolutions]
    [{"path": ["widgets", "w1", "position", "x"], "resolution": "local-won"}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ot import json0
from ot.dashboard.diff import diff, same_json
from ot.dashboard.document import validate_document
from ot.dashboard.edited import validate_after
from ot.dashboard.paths import ABSENT, fail

__all__ = ["STRATEGIES", "Conflict", "Merge", "Resolution", "merge", "merge_documents"]

STRATEGIES: Final = ("merge", "local-wins", "remote-wins", "manual")

Op = list[dict[str, Any]]
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Resolution:
    path: Path
    resolution: str  # "local-won", "remote-won" or "merged"

    def as_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "resolution": self.resolution}


@dataclass(frozen=True)
class Conflict:
    """A path both sides changed, with its three values (None where it is absent)."""

    path: Path
    base: Any
    local: Any
    remote: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "base": self.base,
            "local": self.local,
            "remote": self.remote,
        }


@dataclass(frozen=True)
class Merge:
    """``op`` to submit against the head (empty when there is nothing to do, or when
    ``manual`` found conflicts), the ``document`` it gives there, how each path both sides
    changed was resolved, and for ``manual`` the conflicts that stopped it."""

    op: Op
    document: dict[str, Any]
    resolutions: tuple[Resolution, ...] = ()
    conflicts: tuple[Conflict, ...] = ()


def merge_documents(
    base: Mapping[str, Any],
    local: Mapping[str, Any],
    remote: Mapping[str, Any],
    strategy: str,
    *,
    changed_at: Mapping[Path, float] | None = None,
) -> Merge:
    """:func:`merge` with the server's side given as its document rather than its ops."""
    return merge(base, local, [diff(base, remote)], strategy, changed_at=changed_at)


def merge(
    base: Mapping[str, Any],
    local: Mapping[str, Any],
    remote_ops: Sequence[Any],
    strategy: str,
    *,
    changed_at: Mapping[Path, float] | None = None,
    remote_changed_at: Sequence[float] | None = None,
    head: Mapping[str, Any] | None = None,
    local_valid: bool = False,
) -> Merge:
    """Merge ``local`` (the client's document, from ``base``) with ``remote_ops`` (committed
    on ``base`` since, oldest first); see the module docstring. ``changed_at`` maps paths the
    client changed to when (any comparable times, such as epoch seconds), and
    ``remote_changed_at`` gives each remote op's time; they matter to ``merge`` only.
    ``head``, the document the remote ops lead to, saves applying them when known;
    ``local_valid`` says ``local`` was just validated (:func:`ot.dashboard.patch.apply_patch`
    does), so it is not walked again."""
    if strategy not in STRATEGIES:
        fail(("strategy",), f"must be one of {', '.join(STRATEGIES)}")
    if not local_valid:
        validate_document(local)
    if head is None:
        head = base
        for op in remote_ops:
            head = json0.apply(head, op)
    head = dict(head)
    mine, theirs = diff(base, local), diff(base, head)
    if not mine:
        return Merge([], head)
    found = _compare(mine, theirs, local, head)
    conflicts, merged = found
    if strategy == "manual" and conflicts:
        return Merge(
            [],
            head,
            conflicts=tuple(
                Conflict(
                    path, _json(_at(base, path)), _json(_at(local, path)), _json(_at(head, path))
                )
                for path in conflicts
            ),
        )
    remote_times = _remote_times(remote_ops, remote_changed_at)
    local_won = [p for p in conflicts if _local_wins(p, strategy, changed_at, remote_times)]
    remote_won = [p for p in conflicts if p not in local_won]
    kept = [c for c in mine if c["p"][:1] == ["layout"] or not _under_any(c["p"], remote_won)]
    op = _transform(kept, theirs)
    result = json0.apply(head, op)
    fixes = _set_paths(result, local, local_won)
    result = json0.apply(result, fixes)
    repair = _repair_layout(result, local, head)
    result = json0.apply(result, repair)
    op = [*op, *fixes, *repair]
    validate_after(result, op)
    resolutions = [
        *(Resolution(p, "local-won") for p in local_won),
        *(Resolution(p, "remote-won") for p in remote_won),
        *(Resolution(p, "merged") for p in merged),
    ]
    resolutions.sort(key=lambda r: [str(key) for key in r.path])
    return Merge(op, result, tuple(resolutions))


def _kind(component: Mapping[str, Any]) -> str:
    if component["p"][:1] == ["layout"]:
        return "layout"
    return "text" if "t" in component else "value"


def _compare(mine: Op, theirs: Op, local: Any, head: Any) -> tuple[list[Path], list[Path]]:
    """The conflicting paths (the shortest of each overlap) and the merged ones."""
    remote: dict[Path, str] = {}
    inside: set[Path] = set()  # strict prefixes of the remote paths
    for component in theirs:
        path = tuple(component["p"])
        remote[path] = _kind(component)
        inside.update(path[:depth] for depth in range(len(path)))
    conflicts: set[Path] = set()
    merged: set[Path] = set()
    for component in mine:
        path, kind = tuple(component["p"]), _kind(component)
        if kind == "layout":
            if any(p[:1] == ("layout",) for p in remote):
                merged.add(("layout",))
            continue
        overlaps = [path[:depth] for depth in range(len(path) + 1) if path[:depth] in remote]
        if path in inside:
            overlaps.append(path)
        for overlap in overlaps:
            if kind == "text" and remote.get(overlap) == "text" and overlap == path:
                merged.add(path)
            elif same_json(_at(local, overlap), _at(head, overlap)):
                merged.add(overlap)
            else:
                conflicts.add(overlap)
    shortest = sorted(
        (p for p in conflicts if not any(p[: len(q)] == q and p != q for q in conflicts)),
        key=len,
    )
    return shortest, sorted(merged - conflicts, key=len)


def _local_wins(
    path: Path,
    strategy: str,
    changed_at: Mapping[Path, float] | None,
    remote_times: list[tuple[set[Path], float]],
) -> bool:
    if strategy != "merge":
        return strategy == "local-wins"
    if not changed_at:
        return False
    mine = [when for where, when in changed_at.items() if _related(tuple(where), path)]
    theirs = [when for paths, when in remote_times if any(_related(p, path) for p in paths)]
    return bool(mine) and bool(theirs) and max(mine) > max(theirs)


def _remote_times(
    remote_ops: Sequence[Any], times: Sequence[float] | None
) -> list[tuple[set[Path], float]]:
    if times is None:
        return []
    if len(times) != len(remote_ops):
        fail(("remote_changed_at",), "needs one time for each remote op")
    return [
        ({tuple(c["p"]) for c in json0.normalize(op)}, when)
        for op, when in zip(remote_ops, times, strict=True)
    ]


def _related(p: Path, q: Path) -> bool:
    return p[: len(q)] == q or q[: len(p)] == p


def _under_any(path: Sequence[Any], roots: Iterable[Path]) -> bool:
    return any(tuple(path[: len(root)]) == root for root in roots)


def _transform(mine: Op, theirs: Op) -> Op:
    """``mine`` (a diff from base) past ``theirs`` (the server's diff from base): each
    component of ``mine`` only against the components of ``theirs`` whose paths meet it,
    the layout as one op against the server's layout changes. Components of a diff touch
    distinct paths, so this is what transforming the whole op would give, for the work of
    the overlaps only."""
    under: dict[Path, list[int]] = {}  # the components at or below each path
    at: dict[Path, list[int]] = {}  # the components at each path
    layout: Op = []
    for index, component in enumerate(theirs):
        path = tuple(component["p"])
        if path[:1] == ("layout",):
            layout.append(component)
            continue
        at.setdefault(path, []).append(index)
        for depth in range(len(path) + 1):
            under.setdefault(path[:depth], []).append(index)
    out: Op = []
    mine_layout: Op = []
    for component in mine:
        path = tuple(component["p"])
        if path[:1] == ("layout",):
            mine_layout.append(component)
            continue
        meeting = set(under.get(path, ()))
        for depth in range(len(path)):
            meeting.update(at.get(path[:depth], ()))
        if not meeting:
            out.append(component)
            continue
        # The server's change wins ties; rich-text reads json0's side the other way round.
        side = "left" if component.get("t") == "rich-text" else "right"
        out.extend(json0.transform([component], [theirs[i] for i in sorted(meeting)], side))
    if mine_layout:
        out.extend(json0.transform(mine_layout, layout, "right") if layout else mine_layout)
    return out


def _at(doc: Any, path: Path) -> Any:
    """The value at ``path``, or ABSENT."""
    for key in path:
        if isinstance(doc, dict) and isinstance(key, str):
            if key not in doc:
                return ABSENT
            doc = doc[key]
        elif isinstance(doc, list) and isinstance(key, int):
            if not 0 <= key < len(doc):
                return ABSENT
            doc = doc[key]
        else:
            return ABSENT
    return doc


def _json(value: Any) -> Any:
    return None if value is ABSENT else value


def _set_paths(doc: Any, source: Any, paths: Iterable[Path]) -> Op:
    """Components setting each path of ``doc`` to its value in ``source`` (or removing it)."""
    op: Op = []
    for path in paths:
        have, want = _at(doc, path), _at(source, path)
        if (have is ABSENT and want is ABSENT) or same_json(have, want):
            continue
        in_list = isinstance(path[-1], int)
        component: dict[str, Any] = {"p": list(path)}
        if have is not ABSENT:
            component["ld" if in_list else "od"] = have
        if want is not ABSENT:
            component["li" if in_list else "oi"] = want
        op.append(component)
    return op


def _repair_layout(doc: Any, local: Any, head: Any) -> Op:
    """``ld`` / ``li`` making the layout list every widget exactly once: ids of widgets gone
    or listed twice leave; widgets missing come in where the client had them, else where
    the server did, else at the end."""
    widgets, layout = doc["widgets"], list(doc["layout"])
    op: Op = []
    seen: set[str] = set()
    keep = []
    for widget_id in layout:
        keep.append(widget_id in widgets and widget_id not in seen)
        seen.add(widget_id)
    for index in range(len(layout) - 1, -1, -1):
        if not keep[index]:
            op.append({"p": ["layout", index], "ld": layout[index]})
            del layout[index]
    missing = [widget_id for widget_id in widgets if widget_id not in seen]
    for widget_id in missing:
        where = len(layout)
        for source in (local["layout"], head["layout"]):
            if widget_id in source:
                where = min(source.index(widget_id), len(layout))
                break
        op.append({"p": ["layout", where], "li": widget_id})
        layout.insert(where, widget_id)
    return op
