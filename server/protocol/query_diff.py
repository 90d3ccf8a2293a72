"""The ``q`` diff that turns a subscribed query's last results into its new ones.

ShareDB's client applies a diff's items in order, each a splice of its ``results``::

    diff := [item]
    item := {"type": "insert", "index": i, "values": [snapshot]}   splice(i, 0, ...values)
          | {"type": "remove", "index": i, "howMany": n}            splice(i, n)
          | {"type": "move", "from": i, "to": j, "howMany": n}      splice(i, n), then at j

Example: ``["a", "b", "c"]`` to ``["c", "a", "d"]`` is ``remove(1, 1)`` (``b``), ``move(1, 0, 1)``
(``c`` to the front), ``insert(2, [d])``. :func:`diff_results` works on ids; the gateway fills an
insert's snapshots in (:func:`server.protocol.outgoing.query_diff`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Insert:
    index: int
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Remove:
    index: int
    how_many: int


@dataclass(frozen=True)
class Move:
    start: int
    to: int
    how_many: int


Change = Insert | Remove | Move


def diff_results(old: Sequence[str], new: Sequence[str]) -> list[Change]:
    """The changes that, applied in order, turn ``old`` into ``new`` (ids are unique in each):
    runs of removals first, then each place of ``new`` filled by a move or an insert."""
    wanted = set(new)
    current = list(old)
    changes: list[Change] = []
    i = 0
    while i < len(current):
        if current[i] in wanted:
            i += 1
            continue
        end = i
        while end < len(current) and current[end] not in wanted:
            end += 1
        changes.append(Remove(i, end - i))
        del current[i:end]
    present = set(current)
    i = 0
    while i < len(new):
        if i < len(current) and current[i] == new[i]:
            i += 1
            continue
        run = 1
        if new[i] in present:
            # Everything before i already matches, so the id sits further on: move it, with
            # the ids that follow it in both lists.
            start = current.index(new[i], i)
            while (
                i + run < len(new)
                and start + run < len(current)
                and current[start + run] == new[i + run]
            ):
                run += 1
            changes.append(Move(start, i, run))
            moved = current[start : start + run]
            del current[start : start + run]
        else:
            while i + run < len(new) and new[i + run] not in present:
                run += 1
            moved = list(new[i : i + run])
            changes.append(Insert(i, tuple(moved)))
            present.update(moved)
        current[i:i] = moved
        i += run
    return changes
