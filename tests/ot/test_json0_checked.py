"""json0's CheckedOp: the same answers as plain ops, and never an invalid op inside one.

The first tests run every json0 function both ways over the differential generator's cases
(tests/ot/gen.py) and compare answers exactly (results by ``repr``, so ``True`` is not ``1``;
errors by class and message). The rest try to get an invalid op into a CheckedOp: garbage
through the public functions, transforms whose results are not valid ops, the constructor,
copies, pickles and changes to the op after checking.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ot import json0
from ot.errors import InvalidOpError, OTError
from ot.jsvalue import Strict
from tests.ot import gen
from tests.ot.test_json0_fuzz import garbage, good_components, mix, ops, sides

SEED = 20_251_203
PAIRS = 3_000
SIDES = ("left", "right")


def answer(fn: Callable[..., Any], *args: Any) -> tuple[str, str]:
    """What ``fn(*args)`` gives: ``("ok", repr)``, ``("checked", repr of its op)`` for a
    CheckedOp, or ``("error", class and message)``."""
    try:
        result = fn(*args)
    except OTError as error:
        return "error", f"{type(error).__name__}: {error}"
    if isinstance(result, json0.CheckedOp):
        return "checked", repr(result.op)
    if isinstance(result, tuple):
        return "ok", repr(tuple(r.op if isinstance(r, json0.CheckedOp) else r for r in result))
    return "ok", repr(result)


def is_valid(op: Any) -> bool:
    try:
        json0.check_op(op)
    except OTError:
        return False
    return True


def test_a_checked_op_answers_every_function_as_the_plain_op_does() -> None:
    compared = 0
    for pair in gen.pairs(SEED, PAIRS):
        doc, a, b = pair.doc, pair.a, pair.b
        ca, cb = json0.check(a), json0.check(b)
        cases: list[tuple[Callable[..., Any], tuple[Any, ...], tuple[Any, ...]]] = [
            (json0.apply, (doc, a), (doc, ca)),
            (json0.apply, (doc, b), (doc, cb)),
            (json0.apply_and_invert, (doc, a), (doc, ca)),
            (json0.invert_with_doc, (a, doc), (ca, doc)),
            (json0.compose, (a, b), (ca, cb)),
            (json0.compose, (a, b), (a, cb)),
            (json0.invert, (a,), (ca,)),
            (json0.normalize, (a,), (ca,)),
            (json0.is_noop, (a,), (ca,)),
            (
                json0.transform_path,
                (["widgets", "w1", "title"], a),
                (["widgets", "w1", "title"], ca),
            ),
            (json0.transform_x, (a, b), (ca, b)),
            *((json0.transform, (a, b, side), (ca, b, side)) for side in SIDES),
            *((json0.transform, (a, b, side), (a, cb, side)) for side in SIDES),
        ]
        for fn, plain_args, checked_args in cases:
            assert answer(fn, *checked_args) == answer(fn, *plain_args), (fn, plain_args)
            compared += 1
        for side in SIDES:
            compared += _compare_checked_transform(a, b, ca, cb, side)
        compared += _compare_checked_transform_x(a, b, ca, cb)
    assert compared == 18 * PAIRS


def _compare_checked_transform(a: Any, b: Any, ca: Any, cb: Any, side: str) -> int:
    plain = answer(json0.transform, a, b, side)
    result = answer(json0.transform, ca, cb, side)
    try:
        valid = is_valid(json0.transform(a, b, side))
    except OTError:
        valid = True  # both refuse: compared below
    if valid:
        assert result == (plain if plain[0] == "error" else ("checked", plain[1])), (a, b, side)
    else:
        assert result[0] == "error", (a, b)
        assert result[1].startswith("InvalidOpError: the transformed op is not valid")
    return 1


def _compare_checked_transform_x(a: Any, b: Any, ca: Any, cb: Any) -> int:
    try:
        left, right = json0.transform_x(a, b)
    except OTError as error:
        assert answer(json0.transform_x, ca, cb) == ("error", f"{type(error).__name__}: {error}")
        return 1
    if is_valid(left) and is_valid(right):
        new_left, new_right = json0.transform_x(ca, cb)
        assert (new_left.op, new_right.op) == (left, right)
        assert repr((new_left.op, new_right.op)) == repr((left, right))
    else:
        with pytest.raises(InvalidOpError, match="the transformed op is not valid"):
            json0.transform_x(ca, cb)
    return 1


def test_a_chain_of_checked_transforms_follows_the_plain_chain() -> None:
    """As the sequencer uses it: one op through many committed ones, checked once each."""
    pairs = list(gen.pairs(SEED + 1, 1200, per_document=6))
    steps = 0
    for start in range(0, len(pairs), 6):
        group = pairs[start : start + 6]
        plain: Any = group[0].a
        mine: Any = json0.check(plain)
        committed = [json0.check(p.b) for p in group]
        for other, c in zip(group, committed, strict=True):
            expected = answer(json0.transform, plain, other.b, "left")
            if expected[0] == "error":
                assert answer(json0.transform, mine, c, "left") == expected
                break
            plain = json0.transform(plain, other.b, "left")
            mine = json0.transform(mine, c, "left")
            assert repr(mine.op) == repr(plain)
            steps += 1
        assert answer(json0.apply, group[0].doc, mine) == answer(json0.apply, group[0].doc, plain)
    assert steps > 600


def test_a_transform_that_makes_no_valid_op_makes_no_checked_op() -> None:
    # A key that reads as a number, against an index, steps to a fraction (JavaScript's
    # arithmetic, which the plain path reproduces).
    key, insert = [{"p": ["1.5"], "oi": 1}], [{"p": [0], "li": 5}]
    assert json0.transform(key, insert, "left") == [{"p": [2.5], "oi": 1}]
    with pytest.raises(InvalidOpError, match=r"path element 2\.5"):
        json0.transform(json0.check(key), json0.check(insert), "left")
    # Counts add up past what JavaScript holds exactly.
    long = [{"p": ["b"], "t": "rich-text", "o": [{"retain": 2**53 - 1}, {"insert": "x"}]}]
    short = [{"p": ["b"], "t": "rich-text", "o": [{"insert": "y"}]}]
    assert not is_valid(json0.transform(long, short, "left"))
    with pytest.raises(InvalidOpError, match="retain must be"):
        json0.transform(json0.check(long), json0.check(short), "left")
    with pytest.raises(InvalidOpError, match="retain must be"):
        json0.transform_x(json0.check(short), json0.check(long))


def test_only_check_makes_a_checked_op() -> None:
    op = [{"p": ["title", 0], "si": "a"}]
    with pytest.raises(InvalidOpError):
        json0.CheckedOp([{"p": "garbage"}])
    with pytest.raises(InvalidOpError):
        json0.CheckedOp(op, object())
    done = json0.check(op)
    with pytest.raises(TypeError):
        dataclasses.replace(done, _components=[{"p": "garbage"}])
    with pytest.raises(dataclasses.FrozenInstanceError):
        done._components = []  # type: ignore[misc]
    with pytest.raises(InvalidOpError):
        done.__setstate__(([{"p": "garbage"}],))
    for twin in (copy.copy(done), copy.deepcopy(done), pickle.loads(pickle.dumps(done))):
        assert isinstance(twin, json0.CheckedOp)
        assert twin == done and twin.op == op


def test_a_checked_op_keeps_its_own_copy() -> None:
    op: list[dict[str, Any]] = [{"p": ["layout", 0], "lm": 1}, {"p": ["title", 2], "si": "x"}]
    done = json0.check(op)
    op[0]["p"].append("garbage")
    op[1]["si"] = 7
    op.append({"p": "garbage"})
    assert done.op == [{"p": ["layout", 0], "lm": 1}, {"p": ["title", 2], "si": "x"}]
    handed_out = done.op
    handed_out[0]["p"][0] = -1
    handed_out[0]["lm"] = "garbage"
    assert done.op == [{"p": ["layout", 0], "lm": 1}, {"p": ["title", 2], "si": "x"}]
    assert json0.check(done) is done
    json0.check_op(done)


# Well-formed ops whose paths disagree about containers, with keys that JavaScript reads as
# fractions and negative numbers, and counts at the limit: transforms that give invalid ops.
odd_components = mix(
    good_components,
    st.builds(
        lambda p, k, v: {"p": [*p, k], "oi": v},
        st.lists(st.sampled_from([0, 1, "a"]), max_size=2),
        st.sampled_from(["1.5", "-5", "x", "0"]),
        st.integers(0, 2),
    ),
    st.builds(
        lambda p, i, j: {"p": [*p, i], "lm": j},
        st.lists(st.sampled_from([0, "a"]), max_size=1),
        st.sampled_from([0, 1, "-5", "1.5"]),
        st.integers(0, 2),
    ),
    st.builds(
        lambda n: {"p": ["a"], "t": "text-unicode", "o": [n, "x"]},
        st.sampled_from([1, 2**53 - 1]),
    ),
    st.builds(
        lambda n: {"p": ["a"], "t": "rich-text", "o": [{"retain": n}, {"insert": "x"}]},
        st.sampled_from([1, 2**53 - 1]),
    ),
)
odd_ops = st.lists(odd_components, max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_ops, odd_ops, st.sampled_from(SIDES))
# Paths that part at object keys, but one at an lm whose index is a string (read as a number),
# and one against two string ops that the reference merges (and refuses) while transforming.
@example([{"p": ["1.5"], "oi": 0}], [{"p": ["-5"], "lm": 0}], "left")
@example(
    [{"p": ["1.5"], "oi": 0}],
    [{"p": ["a", "b", 0], "si": "x"}, {"p": ["a", "b", "a"], "si": "x"}],
    "left",
)
def test_transforms_of_checked_ops_hold_valid_ops_or_refuse(a: Any, b: Any, side: str) -> None:
    ca, cb = json0.check(a), json0.check(b)
    try:
        plain = json0.transform(a, b, side)
    except OTError:
        with pytest.raises(OTError):
            json0.transform(ca, cb, side)
        return
    if is_valid(plain):
        assert json0.transform(ca, cb, side).op == plain
    else:
        with pytest.raises(InvalidOpError):
            json0.transform(ca, cb, side)
    with contextlib.suppress(OTError):
        for result in json0.transform_x(ca, cb):
            json0.check_op(result.op)


checked_ops = st.builds(json0.check, st.lists(good_components, max_size=3))
anything = mix(ops, ops, checked_ops, garbage)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything, anything, sides)
def test_garbage_never_becomes_a_checked_op(a: Any, b: Any, side: Any) -> None:
    for call in (
        lambda: [json0.check(a)],
        lambda: [json0.transform(a, b, side)],
        lambda: list(json0.transform_x(a, b)),
    ):
        with contextlib.suppress(OTError):
            for result in call():
                if isinstance(result, json0.CheckedOp):
                    json0.check_op(result.op)
    if not isinstance(a, json0.CheckedOp):
        with contextlib.suppress(OTError):
            assert json0.check(a).op == a


# What the log stores faithfully (the server's jsonvalue.JSONB, which the sequencer checks with).
STORABLE = Strict(max_depth=6, safe_integers=True, clean_strings=True)


def _nested(levels: int) -> Any:
    return json.loads("[" * levels + "1" + "]" * levels)


@pytest.mark.parametrize(
    ("op", "says"),
    [
        ([{"p": ["t"], "oi": "a\x00b"}], "strings may not contain U+0000"),
        ([{"p": ["t", "\ud800"], "oi": 1}], "strings may not contain a lone surrogate"),
        ([{"p": ["l", 0], "li": 2**60}], "integers must lie within"),
        ([{"p": ["t"], "t": "text-unicode", "o": ["\x00"]}], "strings may not contain U+0000"),
        # The op's list is level 0 and each component level 1: a value nests 4 levels at most.
        ([{"p": ["t"], "oi": _nested(5)}], "nested deeper than 6 levels"),
        ([{"p": ["t"], "od": 1, "oi": float("nan")}], "numbers must be finite"),
    ],
)
def test_a_reader_walks_the_whole_op(op: Any, says: str) -> None:
    with pytest.raises(InvalidOpError, match=re.escape(says)):
        json0.check(op, STORABLE)
    try:
        once = json0.check(op)
    except InvalidOpError:
        return  # plain JSON refuses it too (NaN)
    # A CheckedOp handed back is walked too, with the reader it is asked for.
    with pytest.raises(InvalidOpError, match=re.escape(says)):
        json0.check(once, STORABLE)


def test_a_reader_still_checks_the_components_shape() -> None:
    assert json0.check([{"p": ["t"], "oi": _nested(4)}], STORABLE).op[0]["oi"] == _nested(4)
    with pytest.raises(InvalidOpError, match="not a json0 component"):
        json0.check([{"p": ["t"], "oi": 1, "x": 2}], STORABLE)
    with pytest.raises(InvalidOpError, match="si/sd must be strings"):
        json0.check([{"p": ["t", 0], "si": 3}], STORABLE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_a_reader_no_stricter_than_json_changes_nothing(op: Any) -> None:
    # Every op the plain check takes, a lenient reader takes alike, and the other way round.
    plain = answer(json0.check, op)
    read = answer(lambda o: json0.check(o, Strict()), op)
    assert (plain[0], read[0]) in {("checked", "checked"), ("error", "error")}
    if plain[0] == "checked":
        assert plain == read
