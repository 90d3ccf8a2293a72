"""Random histories: every version loads as the ops made it, and the projection follows.

Ops are built by hand next to a plain-Python model of the document, so the expectation does not
come from the code under test.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.core.ids import UserId
from server.store.memory import MemoryStore
from server.store.model import NewOp
from server.store.postgres import PostgresStore
from tests.store.conftest import document, new_op, widget

Action = tuple[int, int, int]
actions = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 1000), st.integers(-20, 20)),
    min_size=1,
    max_size=30,
)
batch_sizes = st.lists(st.integers(1, 6), min_size=1, max_size=30)


def _step(doc: dict[str, Any], action: Action, serial: int) -> tuple[NewOp, dict[str, Any]]:
    """One op for ``action`` against ``doc`` and the document after it."""
    kind, pick, value = action
    after = copy.deepcopy(doc)
    widgets: dict[str, Any] = after["widgets"]
    ids = sorted(widgets)
    if kind == 1 or (kind in (2, 3, 4) and not ids):
        wid = f"w{serial}"
        widgets[wid] = widget(f"W{serial}", abs(value))
        after["layout"].append(wid)
        comps: list[dict[str, Any]] = [{"p": ["widgets", wid], "oi": widget(f"W{serial}", abs(value))},
                 {"p": ["layout", len(doc["layout"])], "li": wid}]  # fmt: skip
        # Every other add names its widget only in the path, not in target_id.
        return new_op(comps, seq=serial, target_id=wid if pick % 2 else None), after
    if kind == 0:
        after["title"] = f"t{value}"
        comps = [{"p": ["title"], "od": doc["title"], "oi": after["title"]}]
        return new_op(comps, seq=serial), after
    if kind == 5:
        replacement = {f"r{serial}": widget("R")}
        after["widgets"], after["layout"] = replacement, [f"r{serial}"]
        comps = [{"p": ["widgets"], "od": doc["widgets"], "oi": replacement},
                 {"p": ["layout"], "od": doc["layout"], "oi": [f"r{serial}"]}]  # fmt: skip
        return new_op(comps, seq=serial), after
    wid = ids[pick % len(ids)]
    if kind == 2:
        del widgets[wid]
        index = doc["layout"].index(wid)
        after["layout"].pop(index)
        comps = [
            {"p": ["layout", index], "ld": wid},
            {"p": ["widgets", wid], "od": doc["widgets"][wid]},
        ]
        return new_op(comps, seq=serial, target_id=wid), after
    if kind == 3:
        widgets[wid]["position"]["x"] += value
        return new_op([{"p": ["widgets", wid, "position", "x"], "na": value}], seq=serial), after
    config = widgets[wid]["config"]
    key = f"k{pick % 3}"
    comp: dict[str, Any] = {"p": ["widgets", wid, "config", key], "oi": value}
    if key in config:
        comp["od"] = config[key]
    config[key] = value
    return new_op([comp], seq=serial, target_id=wid), after


def _projection(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (wid, w["type"], w["title"], w["position"], w["config"])
        for wid, w in sorted(doc["widgets"].items())
    ]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=actions, sizes=batch_sizes)
async def test_every_version_is_the_replay_of_its_ops(
    store: MemoryStore | PostgresStore, owner: UserId, plan: list[Action], sizes: list[int]
) -> None:
    docs = [document("start", {"w0": widget("W0")})]
    ops: list[NewOp] = []
    for serial, action in enumerate(plan, 1):
        op, after = _step(docs[-1], action, serial)
        ops.append(op)
        docs.append(after)
    d = (await store.create_dashboard(owner_id=owner, title="p", document=docs[0])).dashboard_id
    epoch = await store.acquire_epoch(d)
    done = 0
    for size in sizes * len(ops):
        if done == len(ops):
            break
        batch = ops[done : done + size]
        done += len(batch)
        head = await store.commit(d, base_version=done - len(batch) + 1, epoch=epoch,
                                  ops=batch, document=docs[done])  # fmt: skip
        assert head == done + 1
        rows = await store.widget_rows(d)
        assert [(r.widget_id, r.type, r.title, r.position, r.config) for r in rows] == _projection(
            docs[done]
        )
    # docs[i] is the snapshot at version i + 1 (version 1 is the created document).
    for version in range(1, len(docs) + 1):
        snap = await store.load(d, version=version)
        assert snap.document == docs[version - 1], version
    scratch = await store.load(d, from_scratch=True)
    assert (scratch.version, scratch.document) == (len(docs), docs[-1])
