"""Values jsonb (or a JavaScript client) cannot hold are refused before they reach PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.errors import BadData
from server.core.ids import UserId
from server.core.jsonvalue import MAX_DEPTH, MAX_SAFE_INTEGER, _explain, check_jsonb
from server.store.postgres import PostgresStore
from tests.store.conftest import document


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, -0.0, True, None, "text", {"b": {}}]},
        MAX_SAFE_INTEGER,
        -MAX_SAFE_INTEGER,
        "emoji \U0001f600 and \u00e9",
        _nested(MAX_DEPTH),
        1e308,
    ],
)
def test_accepted(value: Any) -> None:
    check_jsonb(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a\x00b", "U\\+0000"),
        ({"k\x00": 1}, "U\\+0000"),
        ({"s": "\ud800"}, "surrogate"),
        ({"\udfff": 1}, "surrogate"),
        (float("nan"), "not a JSON number"),
        ([float("inf")], "not a JSON number"),
        (-float("inf"), "not a JSON number"),
        (MAX_SAFE_INTEGER + 1, "2\\*\\*53"),
        ({"n": -(2**64)}, "2\\*\\*53"),
        (_nested(MAX_DEPTH + 1), "deeper"),
        (_nested(100_000), "deeper"),
        ((1, 2), "tuple"),
        ({1: "x"}, "key"),
        ({"s": {1, 2}}, "set"),
    ],
)
def test_refused(value: Any, reason: str) -> None:
    with pytest.raises(BadData, match=reason):
        check_jsonb(value)


async def test_store_refuses_before_writing(pg_store: PostgresStore, owner: UserId) -> None:
    for bad in ({"title": "\ud800"}, {**document(), "settings": {"n": 2**60}}):
        with pytest.raises(BadData):
            await pg_store.create_dashboard(owner_id=owner, title="x", document=bad)
    count = await pg_store.pool.fetchval(
        "SELECT count(*) FROM dashboards WHERE owner_id = $1 AND title = 'x'", owner
    )
    assert count == 0


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.sampled_from(["a", "é", "\x00", "\ud800", "\U0001f600"]), max_size=4),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.sampled_from(["k", "\x00", "\udfff"]), max_size=2), inner)
    ),
    max_leaves=12,
)


@given(_values, st.integers(min_value=1, max_value=4))
def test_the_quick_walk_and_the_careful_walk_agree(value: Any, max_depth: int) -> None:
    """check_jsonb walks quickly first; what it refuses must be what the careful walk refuses."""
    try:
        _explain(value, max_depth)
    except BadData:
        with pytest.raises(BadData):
            check_jsonb(value, max_depth=max_depth)
    else:
        check_jsonb(value, max_depth=max_depth)
