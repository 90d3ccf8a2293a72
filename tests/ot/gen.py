"""Random dashboard documents and random valid json0 ops against them, for differential tests.

Everything is driven by one ``random.Random``, so a seed names a whole run. Ops are valid by
construction: each component is chosen against the document as the op's earlier components left
it. This module keeps its own small model of ``apply`` for that, so the cases do not depend on
the implementation under test.

Which string takes which edit follows what a dashboard does with it: titles and list labels take
json0's ``si``/``sd``, ``caption`` takes ``text0``, ``notes``/``description`` take text-unicode,
and ``body`` (a Quill document, ``{"ops": [...]}``) takes rich-text. A small share of edits
ignores that (any string, any string kind), because clients are free to. The text, Quill and
plain-text models live in tests/ot/gen_text.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tests.ot.gen_text import (
    COLORS,
    TEXT,
    WORDS,
    index,
    rich_apply,
    rich_document,
    rich_op,
    text,
    text0_apply,
    text0_op,
    unicode_apply,
    unicode_op,
    utf16,
)

Path = list[str | int]
Component = dict[str, Any]
Op = list[Component]

STRUCTURAL_KINDS = ("na", "li", "ld", "ld+li", "lm", "oi", "od", "od+oi")
STRING_KINDS = ("si", "sd", "text0", "text-unicode")
KINDS = (*STRUCTURAL_KINDS, *STRING_KINDS, "rich-text")
# Finer coverage inside the subtypes (see features()).
FEATURES = (
    "text0:insert",
    "text0:delete",
    "text-unicode:insert",
    "text-unicode:delete",
    "text-unicode:delete-count",
    "rich-text:insert",
    "rich-text:insert+attributes",
    "rich-text:embed",
    "rich-text:retain+attributes",
    "rich-text:retain+null",
    "rich-text:delete",
)

# "0" is an object key that looks like a list index.
KEYS = ("extra", "note", "0", "title", "color")
ROLES = {"notes": "text-unicode", "description": "text-unicode", "caption": "text0"}
MIX = 0.03


def copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


# --- dashboard documents ---------------------------------------------------------------------


def widget(rng: random.Random) -> dict[str, Any]:
    return {
        "type": rng.choice(("chart", "text", "table", "metric")),
        "title": rng.choice(WORDS) + text(rng, TEXT, 0, 4),
        "position": {
            "x": rng.randint(0, 12),
            "y": rng.randint(0, 12),
            "width": rng.randint(1, 6),
            "height": rng.randint(1, 6),
            "zIndex": rng.randint(0, 3),
        },
        "config": {
            "color": rng.choice(COLORS),
            "thresholds": [
                {"value": rng.randint(0, 100), "color": rng.choice(COLORS)}
                for _ in range(rng.randint(0, 3))
            ],
        },
        "data": {
            "series": [rng.randint(-9, 99) for _ in range(rng.randint(0, 5))],
            "labels": [rng.choice(WORDS) for _ in range(rng.randint(0, 3))],
        },
        "isLocked": rng.random() < 0.2,
        "notes": text(rng, TEXT, 0, 10),
        "caption": text(rng, TEXT, 0, 8),
        "body": {"ops": rich_document(rng)},
    }


def document(rng: random.Random) -> dict[str, Any]:
    ids = rng.sample([f"w{i}" for i in range(10)], rng.randint(2, 3))
    return {
        "title": rng.choice(WORDS) + text(rng, TEXT, 0, 6),
        "description": text(rng, TEXT, 0, 10),
        "settings": {"theme": rng.choice(("dark", "light")), "gridSize": 8, "showGrid": True},
        "widgets": {i: widget(rng) for i in ids},
        "layout": rng.sample(ids, len(ids)),
    }


def value_like(rng: random.Random, example: Any, key: str | int | None) -> Any:
    """A fresh value shaped like ``example``: what a client would put beside it."""
    if key == "body":
        return {"ops": rich_document(rng)}
    if isinstance(example, bool):
        return rng.random() < 0.5
    if isinstance(example, int | float):
        return rng.choice((rng.randint(-5, 50), 0.5))
    if isinstance(example, str):
        return text(rng, TEXT, 0, 5)
    if isinstance(example, list):
        return [value_like(rng, x, key) for x in example[:2]]
    if isinstance(example, dict):
        if example and all(isinstance(v, dict) and "position" in v for v in example.values()):
            return widget(rng)
        return {k: value_like(rng, v, k) for k, v in example.items()}
    return rng.choice((None, 7, "x", False, {"k": [1]}))


def fresh(rng: random.Random, example: Any, key: str | int | None) -> Any:
    """A value to insert: like ``example``, or now and then JSON null (json0 tells null apart
    from a missing field, so ``{"oi": null}`` inserts)."""
    return None if rng.random() < 0.04 else value_like(rng, example, key)


@dataclass(frozen=True)
class Target:
    """A place in the document and what it holds: object, list, number, rich-text or a string role."""

    path: Path
    value: Any
    role: str


def walk(value: Any, path: Path, key: str | int | None = None) -> Iterator[Target]:
    if key == "body" and isinstance(value, dict):
        yield Target(path, value, "rich-text")
    elif isinstance(value, dict):
        yield Target(path, value, "object")
        for k, v in value.items():
            yield from walk(v, [*path, k], k)
    elif isinstance(value, list):
        yield Target(path, value, "list")
        for i, v in enumerate(value):
            yield from walk(v, [*path, i], key)
    elif isinstance(value, str):
        yield Target(path, value, ROLES.get(str(key), "si"))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield Target(path, value, "number")


def fits(kind: str, t: Target, mixed: bool) -> bool:
    if kind == "na":
        return t.role == "number"
    if kind in ("li", "ld", "ld+li", "lm"):
        return t.role == "list" and (kind == "li" or len(t.value) > 0)
    if kind in ("oi", "od", "od+oi"):
        return t.role == "object" and (kind == "oi" or len(t.value) > 0)
    if kind == "rich-text":
        return t.role == "rich-text"
    if not isinstance(t.value, str) or (kind == "sd" and not t.value):
        return False
    return mixed or t.role == ("si" if kind in ("si", "sd") else kind)


def component(
    rng: random.Random, targets: list[Target], kind: str, focus: Path, mix: float = MIX
) -> Component | None:
    """A component of ``kind`` on one of ``targets``, preferably near ``focus``.

    It may share values with the document: :func:`op` detaches it.
    """
    mixed = rng.random() < mix
    fitting = [t for t in targets if fits(kind, t, mixed)]
    if not fitting:
        return None
    # Crowd on the focus itself, then inside it, then on what holds it.
    weights = [
        24.0
        if t.path == focus
        else 8.0
        if t.path[: len(focus)] == focus
        else 4.0
        if focus[: len(t.path)] == t.path
        else 1.0
        for t in fitting
    ]
    t = rng.choices(fitting, weights)[0]
    p, v = t.path, t.value
    if kind == "na":
        return {"p": p, "na": rng.choice((rng.randint(-3, 9), 0.5))}
    if kind == "li":
        slot = rng.randint(0, len(v))
        return {"p": [*p, slot], "li": fresh(rng, v[0] if v else "x", p[-1])}
    if kind in ("ld", "ld+li", "lm"):
        slot = rng.randrange(len(v))
        if kind == "lm":
            return {"p": [*p, slot], "lm": rng.randrange(len(v))}
        c = {"p": [*p, slot], "ld": v[slot]}
        if kind == "ld+li":
            c["li"] = fresh(rng, v[slot], p[-1])
        return c
    if kind == "oi":
        key = rng.choice([k for k in (*KEYS, *(f"w{i}" for i in range(10))) if k not in v])
        example = (
            next(iter(v.values()))
            if v and p == ["widgets"]
            else rng.choice(list(v.values()) or [1])
        )
        return {"p": [*p, key], "oi": fresh(rng, example, key)}
    if kind in ("od", "od+oi"):
        key = rng.choice(list(v))
        c = {"p": [*p, key], "od": v[key]}
        if kind == "od+oi":
            c["oi"] = fresh(rng, v[key], key)
        return c
    if kind == "si":
        at = utf16(v[: rng.randint(0, len(v))])
        return {"p": [*p, at], "si": text(rng, TEXT, 1, 4)}
    if kind == "sd":
        start = rng.randrange(len(v))
        return {"p": [*p, utf16(v[:start])], "sd": v[start : rng.randint(start + 1, len(v))]}
    if kind == "text0":
        return {"p": p, "t": "text0", "o": text0_op(rng, v)}
    if kind == "text-unicode":
        return {"p": p, "t": "text-unicode", "o": unicode_op(rng, v)}
    return {"p": p, "t": "rich-text", "o": rich_op(rng, v["ops"])}


def apply(doc: Any, c: Component) -> Any:
    """The model's json0 apply of one generated component (``doc`` is updated in place)."""
    holder: Any = {"": doc}
    path: list[Any] = ["", *c["p"]]
    parent: Any = holder
    if "si" in c or "sd" in c:
        for key in path[:-2]:
            parent = parent[key]
        s = parent[path[-2]]
        pos = index(s, path[-1])
        if "si" in c:
            parent[path[-2]] = s[:pos] + c["si"] + s[pos:]
        else:
            parent[path[-2]] = s[:pos] + s[pos + len(c["sd"]) :]
        return holder[""]
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if "t" in c:
        old = parent[key]
        if c["t"] == "rich-text":
            parent[key] = {"ops": rich_apply(old["ops"], c["o"])}
        elif c["t"] == "text-unicode":
            parent[key] = unicode_apply(old, c["o"])
        else:
            parent[key] = text0_apply(old, c["o"])
    elif "na" in c:
        parent[key] += c["na"]
    elif "lm" in c:
        parent.insert(c["lm"], parent.pop(key))
    elif ("li" in c and "ld" in c) or "oi" in c:
        parent[key] = c.get("li", c.get("oi"))
    elif "li" in c:
        parent.insert(key, c["li"])
    else:
        del parent[key]
    return holder[""]


def op(
    rng: random.Random,
    doc: Any,
    focus: Path,
    targets: list[Target],
    mix: float = MIX,
    kinds: Sequence[str] = KINDS,
    first: str | None = None,
) -> Op:
    """A valid op of one to three components against ``doc`` (left unchanged), the first of
    kind ``first`` where the document allows. ``targets`` is the document's walk, computed
    once per document because walking dominates generation."""
    count = rng.choices((1, 2, 3), (0.7, 0.2, 0.1))[0]
    work, components = doc, []
    for n in range(count):
        c = component(rng, targets, first, focus, mix) if n == 0 and first else None
        while c is None:
            c = component(rng, targets, rng.choice(kinds), focus, mix)
        components.append(copy(c))
        if n + 1 < count:
            work = apply(copy(work) if n == 0 else work, copy(c))
            targets = list(walk(work, []))
    return components


@dataclass(frozen=True)
class Pair:
    """Two concurrent ops, both valid against ``doc``."""

    doc: Any
    a: Op
    b: Op


def spot(c: Component) -> Path:
    """What a component edits: the list or object holding its element, or the value itself."""
    path: Path = c["p"]
    return path if "t" in c or "na" in c else path[:-1]


def focus_of(rng: random.Random, targets: list[Target]) -> Path:
    """Where a pair's two ops crowd together: a random ancestor of a random place."""
    deepest = rng.choice(targets).path
    return deepest[: rng.randint(0, len(deepest))]


def pairs(
    seed: int,
    count: int,
    per_document: int = 5,
    mix: float = MIX,
    kinds: Sequence[str] = KINDS,
) -> Iterator[Pair]:
    """``count`` pairs of ops made of ``kinds``; ``mix`` is the share of string edits that
    ignore the field's role.

    The first components of ``a`` and ``b`` run through every pair of kinds in turn, and ``b``
    crowds around what ``a`` starts with, so every kind meets every kind at close range.
    """
    rng = random.Random(seed)
    doc: Any = None
    targets: list[Target] = []
    for n in range(count):
        if n % per_document == 0:
            doc = document(rng)
            targets = list(walk(doc, []))
        first_a, first_b = kinds[n % len(kinds)], kinds[n // len(kinds) % len(kinds)]
        a = op(rng, doc, focus_of(rng, targets), targets, mix, kinds, first_a)
        yield Pair(doc, a, op(rng, doc, spot(a[0]), targets, mix, kinds, first_b))


def kind(c: Component) -> str:
    if "t" in c:
        return str(c["t"])
    for name in ("ld+li", "od+oi"):
        first, second = name.split("+")
        if first in c and second in c:
            return name
    return next(k for k in ("na", "li", "ld", "lm", "oi", "od", "si", "sd") if k in c)


def features(c: Component) -> set[str]:
    """The subtype features a component uses (names from FEATURES)."""
    found: set[str] = set()
    if c.get("t") == "text0":
        found.update("text0:insert" if "i" in part else "text0:delete" for part in c["o"])
    elif c.get("t") == "text-unicode":
        for part in c["o"]:
            if isinstance(part, str):
                found.add("text-unicode:insert")
            elif isinstance(part, dict):
                counted = isinstance(part["d"], int)
                found.add("text-unicode:delete-count" if counted else "text-unicode:delete")
    elif c.get("t") == "rich-text":
        for part in c["o"]:
            attrs = part.get("attributes", {})
            if "insert" in part:
                found.add(
                    "rich-text:embed" if isinstance(part["insert"], dict) else "rich-text:insert"
                )
                if attrs:
                    found.add("rich-text:insert+attributes")
            elif "delete" in part:
                found.add("rich-text:delete")
            elif attrs:
                found.add("rich-text:retain+attributes")
                if None in attrs.values():
                    found.add("rich-text:retain+null")
    return found
