"""Garbage into every public function of json0 and text0: a normal return or an OTError, nothing else.

The inputs are JSON-ish values of every kind (NaN, infinities, huge integers, booleans where
numbers belong, tuples, non-string keys) and, to get past the first checks, things shaped like
ops and documents built from the ops' own vocabulary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot import json0, text0
from ot.errors import OTError


def mix(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Each strategy equally often (``a | b`` leans heavily on some branches)."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


VOCABULARY = ["p", "na", "li", "ld", "lm", "oi", "od", "si", "sd", "t", "o", "i", "d"]
WORDS = ["a", "b", "s", "l", "", "left", "right", "text0", "text-unicode", "rich-text", "json0"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 8)
    | st.integers()
    | st.just(2**80)
    | st.just(-(2**70))
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | st.text("ab😀\ud800 \x00", max_size=5)
)
garbage = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=2), inner, max_size=4)
        | st.dictionaries(st.integers(0, 3), inner, max_size=2)
        | st.tuples(inner, inner)
    ),
    max_leaves=10,
)
# Plausible parts (right types, random places) get past validation and into the algorithms;
# each also lets garbage through now and then.
keys = mix(st.integers(0, 4), st.sampled_from(["a", "b", "s", "l", "0"]))
odd_keys = mix(keys, st.sampled_from([-1, True, 1.0]))
paths = mix(st.lists(keys, max_size=4), st.lists(odd_keys, max_size=3))
some_paths = mix(paths, paths, paths, garbage)
text0_components = mix(
    st.builds(lambda p, s: {"p": p, "i": s}, st.integers(0, 6), st.text("ab😀", max_size=3)),
    st.builds(lambda p, s: {"p": p, "d": s}, st.integers(0, 6), st.sampled_from(["a", "b", "ab"])),
    st.fixed_dictionaries(
        {"p": st.integers(-1, 6) | garbage},
        optional={"i": st.text("ab😀", max_size=3) | garbage, "d": st.text("ab😀", max_size=3)},
    ),
)
counts = mix(st.integers(1, 3), scalars)
subtype_ops = mix(
    st.lists(text0_components, max_size=3),
    st.lists(
        mix(st.integers(1, 4), st.text("ab", min_size=1, max_size=2), st.builds(dict, d=counts)),
        max_size=3,
    ),
    st.lists(
        mix(
            st.builds(dict, insert=mix(st.text("ab", min_size=1, max_size=2), scalars)),
            st.builds(dict, retain=counts),
            st.builds(dict, delete=counts),
            st.fixed_dictionaries({}, optional={"insert": scalars, "retain": counts}),
        ),
        max_size=3,
    ),
    garbage,
)
values = mix(
    st.integers(0, 3), st.text("ab", max_size=2), st.lists(st.integers(0, 3), max_size=2), garbage
)
texts = mix(st.text("ab😀", max_size=3), st.text("ab😀", max_size=3), scalars)
# One strategy per action, so most components get past the first checks, plus free mixes.
ACTIONS: dict[str, st.SearchStrategy[Any]] = {
    "na": mix(st.integers(-3, 3), st.integers(-3, 3), scalars),
    "li": values,
    "ld": values,
    "lm": mix(st.integers(0, 4), st.integers(-1, 4), scalars),
    "oi": values,
    "od": values,
    "si": texts,
    "sd": texts,
}
ACTION_SETS = (
    ["na"],
    ["li"],
    ["ld"],
    ["li", "ld"],
    ["lm"],
    ["oi"],
    ["od"],
    ["oi", "od"],
    ["si"],
    ["sd"],
)
components = mix(
    *[
        st.fixed_dictionaries({"p": some_paths, **{key: ACTIONS[key] for key in action}})
        for action in ACTION_SETS
    ],
    st.fixed_dictionaries(
        {
            "p": some_paths,
            "t": st.sampled_from(["text0", "text-unicode", "rich-text", "nope"]) | scalars,
            "o": subtype_ops,
        }
    ),
    st.fixed_dictionaries({"p": some_paths}, optional={**ACTIONS, "t": scalars, "o": subtype_ops}),
)
op_lists = st.lists(components, max_size=4)
ops = mix(op_lists, op_lists, op_lists, components, garbage)
documents = (
    st.fixed_dictionaries(
        {
            "a": garbage,
            "s": st.text("ab😀", max_size=6),
            "l": st.lists(garbage, max_size=4),
            "b": st.just({"ops": [{"insert": "hi\n"}]}),
        }
    )
    | garbage
)
sides = mix(st.sampled_from(["left", "right"]), st.sampled_from(["left", "right"]), scalars)
text0_lists = st.lists(text0_components, max_size=4)
text0_ops = mix(text0_lists, text0_lists, text0_components, garbage)
strings = st.text("ab😀", max_size=6) | garbage

FUNCTIONS: dict[str, tuple[Callable[..., Any], tuple[st.SearchStrategy[Any], ...]]] = {
    "json0.create": (json0.create, (garbage,)),
    "json0.apply": (json0.apply, (documents, ops)),
    "json0.apply_and_invert": (json0.apply_and_invert, (documents, ops)),
    "json0.invert_with_doc": (json0.invert_with_doc, (ops, documents)),
    "json0.transform": (json0.transform, (ops, ops, sides)),
    "json0.transform_x": (json0.transform_x, (ops, ops)),
    "json0.compose": (json0.compose, (ops, ops)),
    "json0.invert": (json0.invert, (ops,)),
    "json0.normalize": (json0.normalize, (ops,)),
    "json0.is_noop": (json0.is_noop, (ops,)),
    "json0.check_op": (json0.check_op, (ops,)),
    "json0.transform_path": (json0.transform_path, (some_paths, ops)),
    "json0.get_subtype": (json0.get_subtype, (garbage,)),
    "json0.register_subtype": (json0.register_subtype, (garbage,)),
    "text0.create": (text0.create, (garbage,)),
    "text0.apply": (text0.apply, (strings, text0_ops)),
    "text0.transform": (text0.transform, (text0_ops, text0_ops, sides)),
    "text0.transform_x": (text0.transform_x, (text0_ops, text0_ops)),
    "text0.compose": (text0.compose, (text0_ops, text0_ops)),
    "text0.invert": (text0.invert, (text0_ops,)),
    "text0.invert_with_doc": (text0.invert_with_doc, (text0_ops, strings)),
    "text0.normalize": (text0.normalize, (text0_ops,)),
    "text0.is_noop": (text0.is_noop, (text0_ops,)),
    "text0.check_op": (text0.check_op, (text0_ops,)),
    "text0.transform_cursor": (
        text0.transform_cursor,
        (st.integers(-2, 9) | scalars, text0_ops, sides),
    ),
    "text0.units": (text0.units, (strings,)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_only_ot_errors_escape(name: str, data: st.DataObject) -> None:
    function, argument_strategies = FUNCTIONS[name]
    args = [data.draw(strategy) for strategy in argument_strategies]
    with contextlib.suppress(OTError):
        function(*args)


# Well-formed ops at random places: they pass check_op, so transform, compose and apply run
# their full logic on paths that disagree about containers (a key where the other has an
# index, a root replace against anything, text edits of different kinds on one string).
good_paths = st.lists(st.integers(0, 3) | st.sampled_from(["a", "b", "0", "2"]), max_size=3)
good_values = st.none() | st.integers(0, 3) | st.sampled_from(["ab", ""]) | st.just([1])
good_components = mix(
    st.builds(lambda p, n: {"p": p, "na": n}, good_paths, st.integers(-2, 2)),
    st.builds(lambda p, i, v: {"p": [*p, i], "li": v}, good_paths, keys, good_values),
    st.builds(lambda p, i, v: {"p": [*p, i], "ld": v}, good_paths, keys, good_values),
    st.builds(lambda p, i, v: {"p": [*p, i], "ld": v, "li": v}, good_paths, keys, good_values),
    st.builds(lambda p, i, j: {"p": [*p, i], "lm": j}, good_paths, keys, st.integers(0, 3)),
    st.builds(lambda p, v: {"p": p, "oi": v}, good_paths, good_values),
    st.builds(lambda p, v: {"p": p, "od": v}, good_paths, good_values),
    st.builds(lambda p, v: {"p": p, "od": v, "oi": v}, good_paths, good_values),
    st.builds(
        lambda p, i, s: {"p": [*p, i], "si": s}, good_paths, keys, st.sampled_from(["x", "ab"])
    ),
    st.builds(
        lambda p, i, s: {"p": [*p, i], "sd": s}, good_paths, keys, st.sampled_from(["a", "ab"])
    ),
    st.builds(
        lambda p, o: {"p": p, "t": "text0", "o": o},
        good_paths,
        st.lists(text0_components, max_size=2).filter(lambda o: _valid_text0(o)),
    ),
    st.builds(lambda p: {"p": p, "t": "text-unicode", "o": [1, "x"]}, good_paths),
    st.builds(lambda p: {"p": p, "t": "rich-text", "o": [{"insert": "x"}]}, good_paths),
)
good_ops = st.lists(good_components, max_size=3)
good_documents = st.recursive(
    good_values,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "0", "2"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def _valid_text0(op: Any) -> bool:
    try:
        text0.check_op(op)
    except OTError:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(good_documents, good_ops, good_ops, st.sampled_from(["left", "right"]))
def test_well_formed_ops_anywhere_only_raise_ot_errors(doc: Any, a: Any, b: Any, side: str) -> None:
    json0.check_op(a)
    json0.check_op(b)
    for call in (
        lambda: json0.transform(a, b, side),
        lambda: json0.transform_x(a, b),
        lambda: json0.compose(a, b),
        lambda: json0.normalize(a + b),
        lambda: json0.invert(a),
        lambda: json0.apply(doc, a),
        lambda: json0.apply_and_invert(doc, b),
        lambda: json0.is_noop(a),
        lambda: json0.transform_path(["a", 0, "b"], a),
    ):
        with contextlib.suppress(OTError):
            call()
