"""The whole message grammar, fuzzed against a served gateway: every action with every field at
and beyond its boundaries, valid and not. Whatever arrives, the server answers with protocol
errors (or a documented close): never 1011, and never a traceback in its log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.harness import Gateway, run_cli, start_gateways

ACTIONS = [
    "hs",
    "auth",
    "f",
    "s",
    "u",
    "bf",
    "bs",
    "bu",
    "op",
    "nf",
    "nt",
    "p",
    "ps",
    "pu",
    "pr",
    "qf",
    "qs",
    "qu",
    "pp",
    "x",
    "",
]
JSON0 = "http://sharejs.org/types/JSONv0"
EDGE_INTS = [0, 1, -1, 2, 2**31, 2**53 - 1, -(2**53 - 1), 2**53, 10**15, 253402300800000]


@pytest.fixture(scope="module")
def served(e2e_env: dict[str, str], gateway_logs: Path) -> Iterator[tuple[Gateway, dict[str, str]]]:
    env = {**e2e_env, "TANDEM_PRESENCE_THROTTLE": "0"}
    user = run_cli(env, "user", "create", "--email", "fuzz@example.com", "--username", "fuzz")
    token = run_cli(env, "token", "issue", "--user", user["id"])["token"]
    mine = run_cli(env, "dashboard", "create", "--owner", user["id"], "--title", "Fuzz")["id"]
    other = run_cli(env, "user", "create", "--email", "fz2@example.com", "--username", "fz2")
    theirs = run_cli(env, "dashboard", "create", "--owner", other["id"], "--title", "Not")["id"]
    [gateway] = start_gateways(1, env, gateway_logs, "fuzz")
    try:
        yield gateway, {"token": token, "mine": mine, "theirs": theirs}
    finally:
        gateway.stop()


def _values(docs: list[str]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(EDGE_INTS),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(
            [
                "",
                "x" * 600,
                "dashboards",
                JSON0,
                "json0",
                "text-unicode",
                "rich-text",
                *docs,
                *(f"dashboards.{d}" for d in docs),
            ]
        ),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=6) | st.sampled_from(KEYS), inner, max_size=4)
        ),
        max_leaves=12,
    )


KEYS = [
    "p",
    "oi",
    "od",
    "li",
    "ld",
    "si",
    "sd",
    "na",
    "lm",
    "t",
    "o",
    "selection",
    "index",
    "length",
    "widgetId",
    "type",
    "targetId",
    "value",
    "title",
    "data",
    "$regex",
]
PATH_PARTS = ["title", "description", "settings", "widgets", "layout", "w1", "position", "x"]


def _ops(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    path = st.lists(st.sampled_from(PATH_PARTS) | st.integers(-2, 6), max_size=4)
    component = st.fixed_dictionaries(
        {"p": path},
        optional={k: values for k in ("oi", "od", "li", "ld", "si", "sd", "na", "lm", "t", "o")},
    )
    return st.lists(component, max_size=3)


def _messages(docs: list[str], token: str) -> st.SearchStrategy[Any]:
    values = _values(docs)
    doc = st.sampled_from([*docs, str(uuid.UUID(int=0)), "not-a-uuid"]) | values
    version = st.sampled_from(EDGE_INTS) | st.none() | values
    fields: dict[str, st.SearchStrategy[Any]] = {
        "c": st.sampled_from(["dashboards", "other"]) | values,
        "d": doc,
        "v": version,
        "seq": version,
        "b": st.lists(doc, max_size=6)
        | st.dictionaries(st.sampled_from(docs) | st.text(max_size=8), version, max_size=4)
        | values,
        "op": _ops(values) | values,
        "dop": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        [
                            "insert",
                            "delete",
                            "update",
                            "move",
                            "resize",
                            "format",
                            "addWidget",
                            "removeWidget",
                            "nope",
                        ]
                    )
                    | values
                },
                optional={k: values for k in KEYS if k != "type"},
            ),
            max_size=2,
        )
        | values,
        "create": st.fixed_dictionaries({"type": st.sampled_from([JSON0, "x"]), "data": values})
        | values,
        "del": values,
        "src": values,
        "ts": version,
        "id": st.integers(0, 5) | values,
        "ch": st.sampled_from([f"dashboards.{d}" for d in docs] + ["x", "dashboards."]) | values,
        "p": values,
        "pv": version,
        "q": st.fixed_dictionaries(
            {}, optional={k: values for k in ("title", "$search", "$limit", "$skip")}
        )
        | values,
        "t": st.sampled_from([JSON0, "json0"]) | values,
        "x": values,
        "token": st.sampled_from([token, "", "x" * 300]) | values,
        "protocol": version,
        "protocolMinor": version,
    }
    anything = st.builds(
        lambda a, rest: {"a": a, **rest} if a is not None else rest,
        st.sampled_from([*ACTIONS, None]) | values,
        st.fixed_dictionaries({}, optional=fields),
    )
    # Each action's well-formed message, with some of its fields replaced, dropped or added:
    # what reaches the deep end of every handler.
    mine = docs[0]
    edges = st.sampled_from(EDGE_INTS) | values
    mutated = (
        st.sampled_from(_templates(mine, docs[1], token))
        .flatmap(
            lambda template: st.tuples(
                st.just(template),
                st.dictionaries(st.sampled_from(list(template)), edges, max_size=3),
                st.sets(st.sampled_from(list(template)), max_size=2),
                st.dictionaries(st.sampled_from(list(fields)), fields["x"], max_size=2),
            )
        )
        .map(lambda t: {**{k: v for k, v in t[0].items() if k not in t[2]}, **t[1], **t[3]})
    )
    message = mutated | mutated | anything
    raw = st.sampled_from(
        [
            "{",
            "[]",
            "null",
            '{"a":"f","d":NaN}',
            '{"a":"pp","a":"pp"}',
            '{"a":"s","c":"dashboards","d":"\\u0000"}',
            "1e999",
            '{"a":"f","v":123456789012345678901234567890}',
            "[" * 200,
        ]
    )
    return st.one_of(message.map(json.dumps), raw, st.text(max_size=30))


def _templates(mine: str, theirs: str, token: str) -> list[dict[str, Any]]:
    doc = {"c": "dashboards", "d": mine}
    ch = f"dashboards.{mine}"
    op = [{"p": ["title"], "od": "Fuzz", "oi": "x"}]
    cursor = {"selection": {"p": ["title"], "index": 1, "length": 0}}
    return [
        {"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2},
        {"a": "auth", "token": token},
        {"a": "f", **doc},
        {"a": "f", **doc, "v": 1},
        {"a": "s", **doc},
        {"a": "s", **doc, "v": 1},
        {"a": "u", **doc},
        {"a": "bf", "c": "dashboards", "b": [mine, theirs]},
        {"a": "bs", "c": "dashboards", "b": {mine: 1}},
        {"a": "bu", "c": "dashboards", "b": [mine]},
        {"a": "op", **doc, "v": 1, "seq": 1, "op": op},
        {
            "a": "op",
            **doc,
            "v": 1,
            "seq": 2,
            "dop": [{"type": "update", "targetId": "title", "value": "y"}],
        },
        {"a": "op", **doc, "v": 0, "seq": 3, "create": {"type": JSON0, "data": {}}},
        {"a": "op", **doc, "v": 1, "seq": 4, "del": True},
        {"a": "nf", "id": 1, **doc, "v": 1},
        {"a": "nt", "id": 2, **doc, "ts": 1_700_000_000_000},
        {"a": "p", "ch": ch, "id": "me", "p": cursor, "pv": 1, **doc, "v": 1, "t": JSON0},
        {"a": "p", "ch": ch, "id": "me", "p": None, "pv": 2},
        {"a": "ps", "ch": ch, "seq": 1},
        {"a": "pu", "ch": ch, "seq": 2},
        {"a": "pr", "ch": ch},
        {"a": "qf", "id": 3, "c": "dashboards", "q": {"title": "F", "$limit": 5}},
        {"a": "qs", "id": 4, "c": "dashboards", "q": {"$search": "fuzz"}},
        {"a": "qu", "id": 4},
        {"a": "pp"},
    ]


def _exchange(url: str, token: str, frames: list[str], authenticate: bool) -> int | None:
    """Send the frames, then a ping; the close code if the server closed (None: still open)."""
    ws: ClientConnection
    with connect(url, open_timeout=10, max_size=2**24) as ws:
        try:
            ws.recv(timeout=10)  # init
            if authenticate:
                ws.send(json.dumps({"a": "auth", "token": token}))
            for frame in frames:
                ws.send(frame)
            ws.send('{"a":"pp"}')
            while True:
                reply = json.loads(ws.recv(timeout=15))
                if reply.get("a") == "pp":  # answered (an error before auth)
                    return None
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # big reprs
def test_the_message_grammar_never_reaches_an_unhandled_exception(
    served: tuple[Gateway, dict[str, str]],
) -> None:
    gateway, ids = served
    docs = [ids["mine"], ids["theirs"]]

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        frames=st.lists(_messages(docs, ids["token"]), min_size=1, max_size=8),
        authenticate=st.booleans(),
    )
    def exchange(frames: list[str], authenticate: bool) -> None:
        code = _exchange(gateway.url, ids["token"], frames, authenticate)
        assert code != 1011, (frames, gateway.log_tail())

    exchange()
    log = gateway.log_path.read_text(errors="replace")
    assert "Traceback" not in log and '"exception"' not in log, gateway.log_tail(8000)
    assert gateway.alive()


EDGE_VALUES: list[Any] = [
    *EDGE_INTS,
    -(2**53),
    1.5,
    -0.0,
    1e308,
    None,
    True,
    "",
    "x" * 600,
    "\u00e9\U0001f600",
    [],
    {},
    [[[]]],
    {"p": []},
    [None],
    -(2**63),
]


def test_every_field_of_every_action_at_its_boundaries(
    served: tuple[Gateway, dict[str, str]],
) -> None:
    gateway, ids = served
    messages = [
        json.dumps({**template, key: edge})
        for template in _templates(ids["mine"], ids["theirs"], ids["token"])
        for key in template
        for edge in EDGE_VALUES
    ]
    for start in range(0, len(messages), 40):  # below the error budget of one connection
        batch = messages[start : start + 40]
        code = _exchange(gateway.url, ids["token"], batch, True)
        assert code != 1011, (batch, gateway.log_tail())
    log = gateway.log_path.read_text(errors="replace")
    assert "Traceback" not in log and '"exception"' not in log, gateway.log_tail(8000)
