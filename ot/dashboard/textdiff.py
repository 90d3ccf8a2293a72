"""Character diffs of text fields as subtype ops: plain strings as text-unicode, rich-text
bodies as rich-text (Quill delta) ops.

:func:`shortest_edit_script` finds a shortest edit script between two sequences (after
trimming the common prefix and suffix, a bit-parallel LCS in C++ from rapidfuzz, or Myers'
O(ND) greedy algorithm where the rest is too long for a bit matrix) as runs of ``("=", n)``,
``("-", n)`` and ``("+", n)``; :func:`edit_script` folds the short kept runs that only split
one replacement in two. :func:`text_op` and :func:`rich_op` turn it into the subtype op that makes
``b`` from ``a``. Example::

    >>> text_op("hello world", "hello there")
    [6, {'d': 'world'}, 'there']
    >>> rich_op({"ops": [{"insert": "Hi\\n"}]},
    ...         {"ops": [{"insert": "Hi", "attributes": {"bold": True}}, {"insert": "!\\n"}]})
    [{'retain': 2, 'attributes': {'bold': True}}, {'insert': '!'}]

Rich bodies are compared by their characters and embeds; where those are equal but the
formatting differs, the op retains them with the attributes that change (null removes one),
as ``Delta.diff`` does. Lengths in rich-text ops count UTF-16 units; a character outside the
BMP is never split. Past :data:`MAX_EDITS` edits the diff stops looking for common runs in
what is left between the common prefix and suffix and replaces it whole: still exact, less
minimal, and bounded in time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate, pairwise
from typing import Any, Final, cast

from rapidfuzz.distance import Indel

from ot import delta
from ot.delta import DeltaOp
from ot.jsvalue import has_astral, js_equal

__all__ = ["MAX_EDITS", "edit_script", "is_canonical", "rich_op", "shortest_edit_script", "text_op"]

MAX_EDITS: Final = 1000
# Up to this many cells (the product of the lengths left between the common prefix and suffix),
# the middle is diffed by rapidfuzz's bit-parallel LCS (C++, 64 cells a machine word); past it
# by Myers' algorithm here, whose time grows with the edits rather than the lengths.
BIT_PARALLEL_CELLS: Final = 1 << 24

Script = list[tuple[str, int]]
Opcodes = list[tuple[str, int, int, int, int]]


def shortest_edit_script(a: Sequence[Any], b: Sequence[Any]) -> Script:
    """Runs of ``=`` (kept), ``-`` (deleted from ``a``), ``+`` (inserted from ``b``), as few
    edits as there can be (up to MAX_EDITS of them)."""
    script: Script = []
    for tag, src_start, src_end, dest_start, dest_end in _opcodes(a, b):
        if tag == "equal":
            _push(script, ("=", src_end - src_start))
        else:
            _push(script, ("-", src_end - src_start))
            _push(script, ("+", dest_end - dest_start))
    return script


def _opcodes(a: Sequence[Any], b: Sequence[Any]) -> Opcodes:
    """:func:`shortest_edit_script` as Indel's opcodes give it: ``(tag, a_start, a_end,
    b_start, b_end)``, kept where the tag is ``"equal"``; a run may be empty, and two runs of
    one kind may stand side by side."""
    bit_parallel = len(a) * len(b) <= BIT_PARALLEL_CELLS
    # No more edits than characters: short texts need not count them first.
    if bit_parallel and (
        len(a) + len(b) <= MAX_EDITS or Indel.distance(a, b, score_cutoff=MAX_EDITS) <= MAX_EDITS
    ):
        # Indel trims the common prefix and suffix itself; its opcodes as plain tuples (which
        # its stub calls Opcode) unpack cheaper than Opcode's attributes read.
        return cast(Opcodes, Indel.opcodes(a, b).as_list())
    head = _common_prefix(a, b)
    tail = _common_suffix(a, b, head)
    rest_a, rest_b = a[head : len(a) - tail], b[head : len(b) - tail]
    # Past the budget the middle is replaced whole; Myers' is for what a bit matrix cannot hold.
    middle = [("-", len(rest_a)), ("+", len(rest_b))] if bit_parallel else _myers(rest_a, rest_b)
    opcodes: Opcodes = []
    x = y = 0
    for kind, n in [("=", head), *middle, ("=", tail)]:
        if kind == "=":
            opcodes.append(("equal", x, x + n, y, y + n))
            x, y = x + n, y + n
        elif kind == "-":
            opcodes.append(("delete", x, x + n, y, y))
            x += n
        else:
            opcodes.append(("insert", x, x, y, y + n))
            y += n
    return opcodes


def edit_script(a: Sequence[Any], b: Sequence[Any]) -> Script:
    """:func:`shortest_edit_script` made readable: a kept run between two edits that are
    each at least as long is folded into them, so "world" -> "there" replaces the word
    rather than keeping its "r". Deletes come before inserts in each edit."""
    script: Script = []
    for kind, first, second in _folded(a, b):
        if kind == "=":
            script.append(("=", first))
        else:
            if first:
                script.append(("-", first))
            if second:
                script.append(("+", second))
    return script


def _folded(a: Sequence[Any], b: Sequence[Any]) -> list[tuple[str, int, int]]:
    """:func:`edit_script` as ``("=", kept, 0)`` and ``("~", deleted, inserted)``, which
    alternate (a kept run is never empty)."""
    out: list[tuple[str, int, int]] = []
    for tag, src_start, src_end, dest_start, dest_end in _opcodes(a, b):
        if tag == "equal":
            kept = src_end - src_start
            if kept:
                if out and out[-1][0] == "=":
                    kept += out.pop()[1]
                out.append(("=", kept, 0))
            continue
        deleted, inserted = src_end - src_start, dest_end - dest_start
        if not (deleted or inserted):
            continue
        # This edit grows the one before it, if any (out ends with an edit or a kept run).
        if out and out[-1][0] == "~":
            _, before_deleted, before_inserted = out.pop()
            deleted += before_deleted
            inserted += before_inserted
        # Fold the kept run before it, and the edit before that, while the run is no longer
        # than either edit.
        while len(out) >= 2:
            kept = out[-1][1]
            _, left_deleted, left_inserted = out[-2]
            if kept > max(left_deleted, left_inserted) or kept > max(deleted, inserted):
                break
            del out[-2:]
            deleted += left_deleted + kept
            inserted += left_inserted + kept
        out.append(("~", deleted, inserted))
    return out


def text_op(a: str, b: str) -> list[Any]:
    """The text-unicode op turning ``a`` into ``b`` (empty when they are equal)."""
    op: list[Any] = []
    x = y = 0
    for kind, first, second in _folded(a, b):
        if kind == "=":
            op.append(first)
            x += first
            y += first
            continue
        if first:
            op.append({"d": a[x : x + first]})
            x += first
        if second:
            op.append(b[y : y + second])
            y += second
    if op and type(op[-1]) is int:
        op.pop()
    return op


class _Units:
    """A rich body as units (a character or an embed each) in runs of one insert op: ``keys``
    to compare (the text itself when there is no embed), and for run ``r`` its first unit
    ``starts[r]``, its insert and its attributes."""

    __slots__ = ("attributes", "inserts", "keys", "offsets", "starts")

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.starts: list[int] = []
        self.inserts: list[Any] = []
        self.attributes: list[dict[str, Any] | None] = []
        units = 0
        embeds = False
        for op in body["ops"]:
            insert = op["insert"]
            self.starts.append(units)
            self.inserts.append(insert)
            self.attributes.append(op.get("attributes"))
            if type(insert) is str:
                units += len(insert)
            else:
                units += 1
                embeds = True
        self.starts.append(units)
        text = "".join(insert for insert in self.inserts if type(insert) is str)
        self.keys: str | list[str] = text
        if embeds:
            # An embed never equals a character: its key is longer than one.
            keys: list[str] = []
            for insert in self.inserts:
                keys.extend(insert if type(insert) is str else ["\0" + json.dumps(insert)])
            self.keys = keys
        # UTF-16 offset of each unit, when some character takes two units.
        self.offsets: list[int] | None = None
        if has_astral(text):
            sizes = (2 if type(key) is str and ord(key[0]) > 0xFFFF else 1 for key in self.keys)
            self.offsets = [0, *accumulate(sizes)]

    def length(self, start: int, end: int) -> int:
        """UTF-16 length of units ``start`` to ``end``."""
        if self.offsets is None:
            return end - start
        return self.offsets[end] - self.offsets[start]

    def run_end(self, run: int) -> int:
        return self.starts[run + 1]


def rich_op(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[DeltaOp]:
    """The rich-text op turning body ``a`` into body ``b`` (both ``{"ops": [inserts]}``)."""
    old, new = _Units(a), _Units(b)
    ops: list[DeltaOp] = []
    x = y = 0  # units of old and new walked so far
    run_a = run_b = 0  # the runs they are in
    for kind, n in edit_script(old.keys, new.keys):
        if kind == "-":
            delta.push(ops, {"delete": old.length(x, x + n)})
            x += n
            continue
        stop = y + n
        while y < stop:
            while new.run_end(run_b) <= y:
                run_b += 1
            if kind == "+":
                take = min(stop, new.run_end(run_b)) - y
                insert = new.inserts[run_b]
                if type(insert) is str:
                    offset = y - new.starts[run_b]
                    insert = insert[offset : offset + take]
                piece: DeltaOp = {"insert": insert}
                attributes = new.attributes[run_b]
            else:
                while old.run_end(run_a) <= x:
                    run_a += 1
                take = min(stop, new.run_end(run_b)) - y
                take = min(take, old.run_end(run_a) - x)
                piece = {"retain": old.length(x, x + take)}
                attributes = delta.diff_attributes(old.attributes[run_a], new.attributes[run_b])
                x += take
            if attributes:
                piece["attributes"] = attributes
            delta.push(ops, piece)
            y += take
    return delta.chop(ops)


def is_canonical(body: Mapping[str, Any]) -> bool:
    """Whether a body is as Quill keeps it: no two text inserts side by side with the same
    attributes (which Quill merges into one)."""
    ops = body["ops"]
    for first, second in pairwise(ops):
        if (
            type(first["insert"]) is str
            and type(second["insert"]) is str
            and js_equal(first.get("attributes"), second.get("attributes"))
        ):
            return False
    return True


def _longest(n: int, matches: Callable[[int], bool]) -> int:
    """The largest ``k <= n`` for which ``matches(k)`` holds, for a ``matches`` that holds up
    to some point and not past it: string slices compare in C, so halving beats a loop."""
    low, high = 0, n
    while low < high:
        middle = (low + high + 1) // 2
        if matches(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _common_prefix(a: Sequence[Any], b: Sequence[Any]) -> int:
    if type(a) is str and type(b) is str:
        return _longest(min(len(a), len(b)), lambda k: a[:k] == b[:k])
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: Sequence[Any], b: Sequence[Any], head: int) -> int:
    n = min(len(a), len(b)) - head
    if type(a) is str and type(b) is str:
        return _longest(n, lambda k: a[len(a) - k :] == b[len(b) - k :])
    i = 0
    while i < n and a[len(a) - 1 - i] == b[len(b) - 1 - i]:
        i += 1
    return i


def _push(script: Script, run: tuple[str, int]) -> None:
    if not run[1]:
        return
    if script and script[-1][0] == run[0]:
        script[-1] = (run[0], script[-1][1] + run[1])
    else:
        script.append(run)


def _myers(a: Sequence[Any], b: Sequence[Any]) -> Script:
    """A shortest edit script from ``a`` to ``b``, or delete-all-insert-all past MAX_EDITS."""
    n, m = len(a), len(b)
    if not n or not m:
        return [("-", n), ("+", m)]
    offset = n + m + 1
    v = [0] * (2 * offset + 1)
    trace: list[list[int]] = []
    for d in range(min(n + m, MAX_EDITS) + 1):
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            v[offset + k] = x
            if x >= n and y >= m:
                trace.append(v[offset - d : offset + d + 1])
                return _backtrack(trace, n, m)
        trace.append(v[offset - d : offset + d + 1])
    return [("-", n), ("+", m)]


def _backtrack(trace: list[list[int]], n: int, m: int) -> Script:
    """Walk the furthest-reaching points back from the end; ``trace[d][k + d]`` is the x
    reached on diagonal k with d edits."""
    runs: list[tuple[str, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, 0, -1):
        before = trace[d - 1]
        k = x - y
        base = d - 1
        down = k == -d or (k != d and before[k - 1 + base] < before[k + 1 + base])
        start_k = k + 1 if down else k - 1
        start_x = before[start_k + base]
        # The edit lands on (mid_x, mid_y); a snake of equal items runs from there to (x, y).
        mid_x = start_x if down else start_x + 1
        runs.append(("=", x - mid_x))
        runs.append(("+", 1) if down else ("-", 1))
        x, y = start_x, start_x - start_k
    runs.append(("=", x))
    script: Script = []
    for run in reversed(runs):
        _push(script, run)
    return script
