"""The ``q`` diff: applied the way ShareDB's client applies it, it turns old results into new."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from server.core.ids import DashboardId
from server.core.oplog import Snapshot
from server.protocol import outgoing
from server.protocol.query_diff import Change, Insert, Move, Remove, diff_results


def client_applies(results: list[str], diff: list[dict[str, Any]]) -> list[str]:
    """``Query._handleDiff`` of sharedb@7's client, on ids."""
    out = list(results)
    for item in diff:
        how_many = item.get("howMany") or 1
        if item["type"] == "insert":
            out[item["index"] : item["index"]] = [v["d"] for v in item["values"]]
        elif item["type"] == "remove":
            del out[item["index"] : item["index"] + how_many]
        else:
            start, to = item["from"], item["to"]
            moved = out[start : start + how_many]
            del out[start : start + how_many]
            out[to:to] = moved
    return out


def wire(changes: list[Change]) -> list[dict[str, Any]]:
    ids = {i for c in changes if isinstance(c, Insert) for i in c.ids}
    snapshots = {i: Snapshot(DashboardId(uuid4()), 1, {"title": i}) for i in ids}
    message = outgoing.query_diff(7, changes, snapshots)
    assert message["a"] == "q" and message["id"] == 7
    return list(message["diff"])


def test_example_from_the_grammar() -> None:
    changes = diff_results(["a", "b", "c"], ["c", "a", "d"])
    assert changes == [Remove(1, 1), Move(1, 0, 1), Insert(2, ("d",))]
    assert wire(changes)[1] == {"type": "move", "from": 1, "to": 0, "howMany": 1}
    assert client_applies(["a", "b", "c"], wire(changes)) == ["c", "a", "d"]


def test_runs_are_one_item_each() -> None:
    assert diff_results([], ["a", "b"]) == [Insert(0, ("a", "b"))]
    assert diff_results(["a", "b", "c", "d"], ["a", "d"]) == [Remove(1, 2)]
    assert diff_results(["a", "b", "c"], ["b", "c", "a"]) == [Move(1, 0, 2)]
    assert diff_results(["a", "b"], ["a", "b"]) == []


pools = st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10)


@given(pools, pools)
def test_the_client_ends_with_the_new_results(old: list[str], new: list[str]) -> None:
    changes = diff_results(old, new)
    assert client_applies(old, wire(changes)) == new
    assert len(changes) <= len(old) + len(new)
