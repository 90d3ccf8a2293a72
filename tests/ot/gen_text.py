"""Random text, Quill deltas and plain-text ops, with small models of applying them.

Part of the differential tests' generator (tests/ot/gen.py), and used on its own for the
subtype cases. Ops are valid by construction, built against the text or document they edit;
the models here apply them without the implementation under test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

Delta = list[dict[str, Any]]

# json0 strings, text0 and Quill count UTF-16 units, text-unicode counts code points: text
# outside the Basic Multilingual Plane tells the two apart.
TEXT = "abcdefgh xyz\néü中😀𝄞"
WORDS = ("cpu", "load", "alpha", "beta", "q3", "ops", "p99")
COLORS = ("#f00", "#0a0", "blue")


def text(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


# --- Quill deltas -------------------------------------------------------------------------


def push(ops: Delta, new: dict[str, Any]) -> None:
    """Append like quill-delta's ``Delta.push``: merge neighbours, inserts before deletes."""
    index = len(ops)
    last = ops[-1] if ops else None
    if last is not None:
        if "delete" in new and "delete" in last:
            ops[-1] = {"delete": last["delete"] + new["delete"]}
            return
        if "delete" in last and "insert" in new:
            index -= 1
            last = ops[index - 1] if index > 0 else None
            if last is None:
                ops.insert(0, new)
                return
        if new.get("attributes") == last.get("attributes"):
            a: Any = last["insert"] if "insert" in last else last.get("retain")
            b: Any = new["insert"] if "insert" in new else new.get("retain")
            same_field = ("insert" in last) == ("insert" in new)
            if same_field and type(a) is type(b) and isinstance(a, str | int):
                merged: dict[str, Any] = {"insert" if "insert" in new else "retain": a + b}
                if "attributes" in new:
                    merged["attributes"] = new["attributes"]
                ops[index - 1] = merged
                return
    ops.insert(index, new)


def attributes(rng: random.Random, nulls: bool) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "bold": True,
        "italic": True,
        "color": rng.choice(COLORS),
        "link": "https://example.com/" + rng.choice(WORDS),
        "header": rng.randint(1, 2),
    }
    chosen = rng.sample(sorted(pool), rng.randint(1, 2))
    return {k: (None if nulls and rng.random() < 0.5 else pool[k]) for k in chosen}


def insert(rng: random.Random) -> dict[str, Any]:
    op: dict[str, Any]
    if rng.random() < 0.2:
        op = {"insert": rng.choice(({"image": "https://example.com/a.png"}, {"formula": "x^2"}))}
    else:
        op = {"insert": text(rng, TEXT, 1, 6)}
    if rng.random() < 0.4:
        op["attributes"] = attributes(rng, nulls=False)
    return op


def rich_document(rng: random.Random) -> Delta:
    ops: Delta = []
    for _ in range(rng.randint(0, 3)):
        push(ops, insert(rng))
    push(ops, {"insert": "\n"})
    return ops


def utf16(s: str) -> int:
    """JavaScript's ``s.length``."""
    return len(s.encode("utf-16-le")) // 2


def units(piece: dict[str, Any]) -> int:
    """The length of one piece of a document in quill-delta's measure (UTF-16 code units)."""
    item = piece["insert"]
    return utf16(item) if isinstance(item, str) else 1


def pieces(doc: Delta) -> Iterator[dict[str, Any]]:
    """A document one character (code point) or embed at a time."""
    for op in doc:
        extra = {"attributes": op["attributes"]} if "attributes" in op else {}
        if isinstance(op["insert"], str):
            for ch in op["insert"]:
                yield {"insert": ch, **extra}
        else:
            yield {"insert": op["insert"], **extra}


def rich_apply(doc: Delta, change: Delta) -> Delta:
    """``doc`` composed with ``change`` (the document case of quill-delta's compose)."""
    cells, out = pieces(doc), list[dict[str, Any]]()
    for op in change:
        if "insert" in op:
            push(out, dict(op))
            continue
        left = op["retain"] if "retain" in op else op["delete"]
        while left > 0:
            unit = next(cells)
            left -= units(unit)
            if "retain" in op:
                merged = {**unit.get("attributes", {}), **op.get("attributes", {})}
                merged = {k: v for k, v in merged.items() if v is not None}
                push(out, {"insert": unit["insert"], **({"attributes": merged} if merged else {})})
    for unit in cells:
        push(out, unit)
    return out


def rich_op(rng: random.Random, doc: Delta) -> Delta:
    sizes = [units(piece) for piece in pieces(doc)]
    pos, ops = 0, list[dict[str, Any]]()
    for _ in range(rng.randint(1, 3)):
        action = rng.choice(("skip", "skip", "format", "delete", "insert"))
        cells = rng.randint(1, len(sizes) - pos) if pos < len(sizes) else 0
        if action == "insert" or cells == 0:
            push(ops, insert(rng))
            continue
        n = sum(sizes[pos : pos + cells])
        pos += cells
        if action == "skip":
            push(ops, {"retain": n})
        elif action == "format":
            push(ops, {"retain": n, "attributes": attributes(rng, nulls=True)})
        else:
            push(ops, {"delete": n})
    while ops and set(ops[-1]) == {"retain"}:
        ops.pop()
    return ops or [{"insert": "!"}]


# --- plain text ----------------------------------------------------------------------------


def unicode_op(rng: random.Random, s: str) -> list[Any]:
    """A normalized text-unicode op on ``s`` (positions in code points)."""
    counted, pos, ops = rng.random() < 0.15, 0, list[Any]()

    def add(c: Any) -> None:
        if ops and type(ops[-1]) is type(c) and not isinstance(c, dict):
            ops[-1] += c
        elif ops and isinstance(c, dict) and isinstance(ops[-1], dict):
            ops[-1] = {"d": ops[-1]["d"] + c["d"]}
        else:
            ops.append(c)

    for _ in range(rng.randint(1, 2)):
        skip = rng.randint(0, len(s) - pos)
        if skip:
            add(skip)
            pos += skip
        n = rng.randint(1, len(s) - pos) if pos < len(s) and rng.random() < 0.5 else 0
        if n:
            add({"d": n if counted else s[pos : pos + n]})
            pos += n
        else:
            add(text(rng, TEXT, 1, 4))
    while ops and isinstance(ops[-1], int):
        ops.pop()
    return ops or [text(rng, TEXT, 1, 3)]


def index(s: str, offset: int) -> int:
    """The ``str`` index of UTF-16 ``offset`` in ``s`` (which falls between characters)."""
    count = 0
    for i, ch in enumerate(s):
        if count >= offset:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(s)


def text0_op(rng: random.Random, s: str) -> list[dict[str, Any]]:
    """A text0 op on ``s`` (UTF-16 offsets), each part against the text the earlier left."""
    ops = []
    for _ in range(rng.randint(1, 2)):
        pos = rng.randint(0, len(s))
        if pos < len(s) and rng.random() < 0.5:
            gone = s[pos : pos + rng.randint(1, len(s) - pos)]
            ops.append({"p": utf16(s[:pos]), "d": gone})
            s = s[:pos] + s[pos + len(gone) :]
        else:
            new = text(rng, TEXT, 1, 4)
            ops.append({"p": utf16(s[:pos]), "i": new})
            s = s[:pos] + new + s[pos:]
    return ops


def text0_apply(s: str, parts: list[dict[str, Any]]) -> str:
    for part in parts:
        at = index(s, part["p"])
        s = s[:at] + part.get("i", "") + s[at + len(part.get("d", "")) :]
    return s


def unicode_apply(s: str, op: list[Any]) -> str:
    out, pos = [], 0
    for c in op:
        if isinstance(c, int):
            out.append(s[pos : pos + c])
            pos += c
        elif isinstance(c, str):
            out.append(c)
        else:
            pos += c["d"] if isinstance(c["d"], int) else len(c["d"])
    return "".join(out) + s[pos:]
