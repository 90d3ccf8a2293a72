"""Per-user undo and redo as ordinary ops: :func:`undo`, :func:`redo`, :func:`stacks`.

Undoing op O (committed at version v, against document D) is its exact inverse
``json0.invert_with_doc(O, D)`` (the log keeps what O removed, so the inverse needs no
guesswork) transformed past every op committed after O, with those ops winning every tie, so
the undo never reverts someone else's later work. It is submitted like any op, gets a new
version and can itself be undone (redo: the same, with the undo op's inverse). Example, after
A set a widget's colour and B then retitled the dashboard::

    >>> undo(json0.invert_with_doc(a_op, before_a), [b_op], head)
    Undo(op=[{'p': ['widgets', 'w1', 'config', 'color'], 'od': 'red', 'oi': 'blue'}],
         reason=None)

When nothing is left to do the result says why instead of raising: ``target_deleted`` (what the
op changed is gone, someone removed it), ``superseded`` (others have since overwritten all of
it), ``nothing_to_undo`` (the op changed nothing), ``invalid`` (what is left would break the
document, which the caller's head lets this check).

:func:`stacks` replays a user's entries in the log (edits, undos and redos) into the two
stacks an editor keeps: an undo pops the newest op from the undo stack onto the redo stack, a
redo moves it back, and any new edit of the user's own empties the redo stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ot import json0
from ot.dashboard.edited import validate_after
from ot.errors import OTError
from ot.json0.check import kind

__all__ = ["REASONS", "Entry", "Undo", "redo", "stacks", "undo", "yield_to"]

Op = list[dict[str, Any]]

REASONS: Final = ("target_deleted", "superseded", "nothing_to_undo", "invalid")


@dataclass(frozen=True)
class Undo:
    """The op to submit against the head, or why there is none (``op`` is then empty)."""

    op: Op
    reason: str | None = None

    @property
    def applied(self) -> bool:
        return self.reason is None


def undo(inverse: Any, later: Iterable[Any], head: Any = None) -> Undo:
    """The op that undoes an op whose exact inverse is ``inverse``, given the ops committed
    after it (oldest first); with ``head`` (the document after them) the result is checked
    to leave a valid dashboard."""
    original = json0.normalize(inverse)
    if json0.is_noop(original):
        return Undo([], "nothing_to_undo")
    # ``survivor`` is the op winning every tie instead: it still names what the op changed
    # once others have overwritten it, so a removal after an overwrite is seen as one.
    op = survivor = original
    gone = False
    for other in later:
        gone = gone or _removes_target(survivor, other)
        op = yield_to(op, other)
        survivor = json0.transform(survivor, json0.normalize(other), "left")
    if json0.is_noop(op):
        return Undo([], "target_deleted" if gone else "superseded")
    if head is not None:
        try:
            validate_after(json0.apply(head, op), op)
        except OTError:
            return Undo([], "invalid")
    return Undo(op)


def yield_to(op: Any, other: Any) -> Op:
    """``op`` transformed past the concurrent ``other`` with ``other`` winning every tie.

    json0 hands its side to subtypes, and rich-text reads it the other way round (its
    ``"left"`` lets the other op win), so runs of rich-text components go through with
    ``"left"`` and the rest with ``"right"``: ``other`` is carried past each run in turn, as
    transforming the whole op would."""
    out: Op = []
    pending = json0.normalize(other)
    for rich, run in _runs(json0.normalize(op)):
        if rich:
            mine, pending = json0.transform_x(run, pending)
        else:
            pending, mine = json0.transform_x(pending, run)
        out.extend(mine)
    return out


def _runs(op: Op) -> list[tuple[bool, Op]]:
    runs: list[tuple[bool, Op]] = []
    for component in op:
        rich = component.get("t") == "rich-text"
        if runs and runs[-1][0] == rich:
            runs[-1][1].append(component)
        else:
            runs.append((rich, [component]))
    return runs


def redo(undo_inverse: Any, later: Iterable[Any], head: Any = None) -> Undo:
    """The op that redoes an undone op: :func:`undo` of the undo op, whose exact inverse is
    ``undo_inverse``, past the ops committed after the undo."""
    return undo(undo_inverse, later, head)


def _removes_target(op: Op, other: Any) -> bool:
    """Whether ``other`` deletes (not replaces) what a component of ``op`` edits, or what
    holds it: the container, for a list or text edit."""
    removals = [
        c["p"]
        for c in json0.normalize(other)
        if ("od" in c and "oi" not in c) or ("ld" in c and "li" not in c)
    ]
    for component in op:
        path = component["p"]
        target = path[:-1] if kind(component) in ("li", "lm", "si") else path
        if any(target[: len(removed)] == removed for removed in removals):
            return True
    return False


EntryKind = Literal["edit", "undo", "redo"]


@dataclass(frozen=True)
class Entry:
    """One of a user's ops in the log: an edit, or an undo / redo of the op at ``reverts``
    (an undo reverts an edit or a redo; a redo reverts an undo)."""

    version: int
    kind: EntryKind
    reverts: int | None = None


def stacks(entries: Sequence[Entry]) -> tuple[list[int], list[int]]:
    """``(undo, redo)``: the versions of the user's ops that an undo / a redo would revert,
    newest last. ``entries`` are one user's, oldest first."""
    undoable: list[int] = []
    redoable: list[int] = []
    for entry in entries:
        if entry.kind == "edit":
            undoable.append(entry.version)
            redoable.clear()
        elif entry.kind == "undo":
            if entry.reverts in undoable:
                undoable.remove(entry.reverts)
            redoable.append(entry.version)
        elif entry.reverts in redoable:
            redoable.remove(entry.reverts)
            undoable.append(entry.version)
    return undoable, redoable
