"""classify: which domain operation a json0 op is, for the operations table."""

from __future__ import annotations

from typing import Any

import pytest

from ot import dashboard, json0
from ot.dashboard.classify import classify
from ot.errors import InvalidOpError

W = ["widgets", "w1"]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ([], ("update", None)),
        ([{"p": ["title"], "od": "a", "oi": "b"}], ("update", None)),
        ([{"p": ["title", 0], "si": "x"}], ("insert", None)),
        ([{"p": [*W, "title", 0], "sd": "C"}], ("delete", "w1")),
        ([{"p": [*W, "title"], "t": "text0", "o": [{"p": 0, "i": "x"}]}], ("insert", "w1")),
        ([{"p": [*W, "title"], "t": "text0", "o": [{"p": 0, "d": "C"}]}], ("delete", "w1")),
        ([{"p": [*W, "title"], "t": "text-unicode", "o": [1, {"d": 1}, "x"]}], ("insert", "w1")),
        ([{"p": [*W, "body"], "t": "rich-text", "o": [{"retain": 2}]}], ("update", "w1")),
        ([{"p": [*W, "body"], "t": "rich-text", "o": {"ops": [{"delete": 2}]}}], ("delete", "w1")),
        ([{"p": [*W, "position", "zIndex"], "na": 1}], ("move", "w1")),
        ([{"p": [*W, "position", "height"], "od": 3, "oi": 4}], ("resize", "w1")),
        (
            [
                {
                    "p": [*W, "position"],
                    "od": {"x": 0, "y": 0, "width": 1, "height": 1},
                    "oi": {"x": 1, "y": 0, "width": 1, "height": 1},
                }
            ],
            ("move", "w1"),
        ),
        (
            [
                {
                    "p": [*W, "position"],
                    "od": {"x": 0, "y": 0, "width": 1, "height": 1},
                    "oi": {"x": 1, "y": 0, "width": 2, "height": 1},
                }
            ],
            ("resize", "w1"),
        ),
        ([{"p": [*W, "position"], "od": {"x": 0}, "oi": {"x": 0}}], ("update", "w1")),
        ([{"p": W, "od": {}, "oi": {}}], ("update", "w1")),
        ([{"p": ["layout", 0], "lm": 1}], ("update", None)),
        ([{"p": ["widgets"], "od": {}, "oi": {}}], ("update", None)),
        (
            [{"p": [*W, "position", "x"], "oi": 1}, {"p": [*W, "position", "width"], "oi": 1}],
            ("resize", "w1"),
        ),
        (
            [
                {"p": [*W, "title"], "t": "text-unicode", "o": ["x"]},
                {"p": ["widgets", "w2", "position", "x"], "oi": 1},
            ],
            ("move", None),
        ),
        ([{"p": ["layout", 1], "li": "w1"}, {"p": W, "oi": {}}], ("addWidget", "w1")),
        ([{"p": ["layout", 1], "ld": "w1", "li": "w2"}], ("update", None)),
    ],
)
def test_classify(op: Any, expected: tuple[str, str | None]) -> None:
    assert classify(op) == expected
    assert classify(json0.check(op)) == expected


@pytest.mark.parametrize(
    "op",
    [
        None,
        {},
        "op",
        [1],
        [{"p": "x", "oi": 1}],
        [{"oi": 1}],
        [{"p": [{}], "oi": 1}],
        [{"p": ["a"], "zz": 1}],
        [{"p": ["a"], "t": "no-such-type", "o": []}],
    ],
)
def test_classify_refuses_garbage(op: Any) -> None:
    with pytest.raises(InvalidOpError):
        classify(op)


def test_dashboard_still_offers_classify() -> None:
    assert dashboard.classify is classify
    assert "classify" in dashboard.__all__
