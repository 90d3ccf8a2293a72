"""Frames in, typed messages out: strict JSON, then one parser per action.

Strict JSON means what a JavaScript client and PostgreSQL ``jsonb`` both hold faithfully: no
NaN or Infinity, no U+0000, no lone surrogate, no integer beyond +-(2**53-1), no float that
overflows, nesting at most ``max_depth`` containers, and no field an action does not define
(except ShareDB's free-form ``x``, ``o`` and ``r``, which are accepted and ignored).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, NoReturn

import orjson

from ot.jsvalue import MAX_SAFE_INTEGER, Strict, json_problem
from server.core.codes import CloseCode, Code
from server.protocol import message as m
from server.protocol.errors import ProtocolError

# Collection names, doc ids, presence ids and connection ids are short identifiers; anything
# longer is not one of ours and would only bloat logs and replies.
MAX_NAME = 256
MAX_TOKEN = 512
# orjson parses an integer literal beyond 64 bits as a float at least this large.
HUGE = float(2**63)
_ECHO_FIELDS = ("a", "c", "d", "id", "ch", "seq", "src", "v", "pv", "b")


def _reject_constant(name: str) -> NoReturn:
    raise ProtocolError(Code.BAD_JSON, f"{name} is not a JSON number")


_SAYS = {
    "nul": "strings may not contain U+0000",
    "surrogate": "lone surrogate in a string",
    "integer": "integer beyond +-(2**53-1)",
    "number": "number out of range",
    "key": "object keys must be strings",
}


@functools.lru_cache(maxsize=8)
def _strict(max_depth: int, parsed_by_orjson: bool) -> Strict:
    return Strict(
        max_depth=max_depth,
        safe_integers=True,
        clean_strings=True,
        huge=HUGE if parsed_by_orjson else None,
    )


def check_value(value: Any, *, max_depth: int, parsed_by_orjson: bool = False) -> None:
    """Raise ProtocolError(bad_json) unless ``value`` is strict JSON (see the module docstring).
    ``parsed_by_orjson``: raise _Reparse at a float of 2**63 or more, which may have been an
    integer literal orjson could not hold."""
    problem = json_problem(value, _strict(max_depth, parsed_by_orjson))
    if problem is None:
        return
    if problem.reason == "huge":
        raise _Reparse
    if problem.reason == "depth":
        raise ProtocolError(Code.BAD_JSON, f"nested deeper than {max_depth} levels")
    says = _SAYS.get(problem.reason)
    raise ProtocolError(
        Code.BAD_JSON, says or f"{type(problem.value).__name__} is not a JSON value"
    )


class _Reparse(Exception):
    """A float orjson may have made of an integer literal beyond 64 bits."""


def frame_size(frame: str | bytes) -> int:
    if isinstance(frame, bytes):
        return len(frame)
    return len(frame) if frame.isascii() else len(frame.encode("utf-8", "surrogatepass"))


def decode_frame(frame: str | bytes, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """The frame's JSON object, strictly checked; raises ProtocolError."""
    if frame_size(frame) > max_bytes:
        raise ProtocolError(
            Code.MESSAGE_TOO_LARGE,
            f"message larger than {max_bytes} bytes",
            close_code=CloseCode.TOO_LARGE,
        )
    try:
        value = orjson.loads(frame)
        try:
            check_value(value, max_depth=max_depth, parsed_by_orjson=True)
        except _Reparse:
            # orjson reads an integer beyond 64 bits as a float: the standard parser keeps it an
            # int, so that check_value refuses it as the frame spells it, not as rounded.
            value = json.loads(frame, parse_constant=_reject_constant)
            check_value(value, max_depth=max_depth)
    except ProtocolError:
        raise
    except RecursionError:
        raise ProtocolError(Code.BAD_JSON, f"nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:  # both parsers' errors are ValueErrors
        raise ProtocolError(Code.BAD_JSON, f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError(Code.BAD_JSON, "a message must be a JSON object")
    return value


def echo_of(raw: dict[str, Any]) -> dict[str, object]:
    """The routing fields of a request, for an error reply (only values of a sane type)."""
    echo: dict[str, object] = {}
    for key in _ECHO_FIELDS:
        value = raw.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str | int) or (key == "b" and isinstance(value, list | dict)):
            echo[key] = value
    return echo


class _Fields:
    """Typed access to one raw message, raising invalid_message with the request echoed."""

    def __init__(self, raw: dict[str, Any], allowed: frozenset[str]) -> None:
        self.raw = raw
        self.echo = echo_of(raw)
        unknown = sorted(set(raw) - allowed)
        if unknown:
            self.fail(f"unknown field {unknown[0]!r} for action {raw['a']!r}")

    def fail(self, text: str) -> NoReturn:
        raise ProtocolError(Code.INVALID_MESSAGE, text, echo=self.echo)

    def get(self, key: str) -> Any:
        # ShareDB clients send null for "not set" (a fresh connection's hs id, a new doc's v).
        return self.raw.get(key)

    def name(self, key: str, *, limit: int = MAX_NAME) -> str:
        value = self.opt_name(key, limit=limit)
        if value is None:
            self.fail(f"{key!r} is required")
        return value

    def opt_name(self, key: str, *, limit: int = MAX_NAME) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value or len(value) > limit:
            self.fail(f"{key!r} must be a non-empty string of at most {limit} characters")
        return value

    def count(self, key: str) -> int:
        value = self.opt_count(key)
        if value is None:
            self.fail(f"{key!r} is required")
        return value

    def opt_count(self, key: str) -> int | None:
        """A non-negative safe integer (versions, seqs, ids), or None."""
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(f"{key!r} must be a non-negative integer")
        if value >= MAX_SAFE_INTEGER:
            self.fail(f"{key!r} is too large")
        return value

    def obj(self, key: str) -> dict[str, Any] | None:
        value = self.get(key)
        if value is not None and not isinstance(value, dict):
            self.fail(f"{key!r} must be an object")
        return value

    def components(self, key: str) -> list[dict[str, Any]] | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
            self.fail(f"{key!r} must be a list of objects")
        return value


def _allowed(*names: str) -> frozenset[str]:
    return frozenset(("a", *names))


def _auth(f: _Fields) -> m.Auth:
    return m.Auth(token=f.name("token", limit=MAX_TOKEN))


def _handshake(f: _Fields) -> m.Handshake:
    protocols = []
    for key in ("protocol", "protocolMinor"):
        value = f.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
            f.fail(f"{key!r} must be a number or a string")
        protocols.append(value)
    return m.Handshake(
        client_id=f.opt_name("id"), protocol=protocols[0], protocol_minor=protocols[1]
    )


def _ping(f: _Fields) -> m.Ping:
    return m.Ping()


def _fetch(f: _Fields) -> m.Fetch:
    return m.Fetch(collection=f.name("c"), doc=f.name("d"), version=f.opt_count("v"))


def _subscribe(f: _Fields) -> m.Subscribe:
    return m.Subscribe(collection=f.name("c"), doc=f.name("d"), version=f.opt_count("v"))


def _unsubscribe(f: _Fields) -> m.Unsubscribe:
    return m.Unsubscribe(collection=f.name("c"), doc=f.name("d"))


def _bulk_docs(f: _Fields) -> tuple[tuple[str, ...], tuple[int | None, ...] | None]:
    b = f.get("b")
    if isinstance(b, list):
        if not b or not all(isinstance(d, str) and d and len(d) <= MAX_NAME for d in b):
            f.fail("'b' must be a non-empty list of ids")
        return tuple(b), None
    if isinstance(b, dict) and b:
        versions: list[int | None] = []
        for doc, version in b.items():
            if not doc or len(doc) > MAX_NAME:
                f.fail("'b' has an invalid id")
            if version is not None and (
                isinstance(version, bool)
                or not isinstance(version, int)
                or not 0 <= version < MAX_SAFE_INTEGER
            ):
                f.fail("'b' versions must be non-negative integers or null")
            versions.append(version)
        return tuple(b), tuple(versions)
    f.fail("'b' must be a non-empty list of ids or an object of versions")


def _bulk_fetch(f: _Fields) -> m.BulkFetch:
    docs, versions = _bulk_docs(f)
    return m.BulkFetch(collection=f.name("c"), docs=docs, versions=versions)


def _bulk_subscribe(f: _Fields) -> m.BulkSubscribe:
    docs, versions = _bulk_docs(f)
    return m.BulkSubscribe(collection=f.name("c"), docs=docs, versions=versions)


def _bulk_unsubscribe(f: _Fields) -> m.BulkUnsubscribe:
    docs, versions = _bulk_docs(f)
    return m.BulkUnsubscribe(collection=f.name("c"), docs=docs, versions=versions)


def _submit(f: _Fields) -> m.Submit:
    f.obj("x")
    op = f.components("op")
    dop = f.components("dop")
    create = f.obj("create")
    delete = f.get("del")
    if delete is not None and not isinstance(delete, bool):
        f.fail("'del' must be true")
    kinds = [op is not None, dop is not None, create is not None, bool(delete)]
    if sum(kinds) != 1:
        f.fail("an op message carries exactly one of 'op', 'dop', 'create', 'del'")
    if create is not None and (
        set(create) - {"type", "data"} or not isinstance(create.get("type"), str)
    ):
        f.fail("'create' must be {type, data}")
    version = f.opt_count("v")
    if version is None and create is None:
        f.fail("'v' is required")
    return m.Submit(
        collection=f.name("c"),
        doc=f.name("d"),
        version=version,
        src=f.opt_name("src"),
        seq=f.count("seq"),
        op=op,
        dop=dop,
        create=create,
        delete=bool(delete),
    )


def _snapshot_fetch(f: _Fields) -> m.SnapshotFetch:
    return m.SnapshotFetch(
        request_id=f.count("id"), collection=f.name("c"), doc=f.name("d"), version=f.opt_count("v")
    )


def _snapshot_fetch_at(f: _Fields) -> m.SnapshotFetchAt:
    return m.SnapshotFetchAt(
        request_id=f.count("id"),
        collection=f.name("c"),
        doc=f.name("d"),
        timestamp=f.opt_count("ts"),
    )


def _presence(f: _Fields) -> m.PresenceSend:
    if "p" not in f.raw:
        f.fail("'p' is required (null clears the presence)")
    return m.PresenceSend(
        channel=f.name("ch"),
        presence_id=f.name("id"),
        value=f.raw["p"],
        presence_version=f.count("pv"),
        collection=f.opt_name("c"),
        doc=f.opt_name("d"),
        version=f.opt_count("v"),
        type_uri=f.opt_name("t"),
    )


def _presence_subscribe(f: _Fields) -> m.PresenceSubscribe:
    return m.PresenceSubscribe(channel=f.name("ch"), seq=f.count("seq"))


def _presence_unsubscribe(f: _Fields) -> m.PresenceUnsubscribe:
    return m.PresenceUnsubscribe(channel=f.name("ch"), seq=f.count("seq"))


def _presence_request(f: _Fields) -> m.PresenceRequest:
    return m.PresenceRequest(channel=f.name("ch"))


def _query_parts(f: _Fields) -> tuple[int, str, dict[str, Any]]:
    f.obj("o")
    results = f.get("r")
    if results is not None and not isinstance(results, list):
        f.fail("'r' must be a list")
    query = f.obj("q")
    return f.count("id"), f.name("c"), query if query is not None else {}


def _query_fetch(f: _Fields) -> m.QueryFetch:
    query_id, collection, query = _query_parts(f)
    return m.QueryFetch(query_id=query_id, collection=collection, query=query)


def _query_subscribe(f: _Fields) -> m.QuerySubscribe:
    query_id, collection, query = _query_parts(f)
    return m.QuerySubscribe(query_id=query_id, collection=collection, query=query)


def _query_unsubscribe(f: _Fields) -> m.QueryUnsubscribe:
    return m.QueryUnsubscribe(query_id=f.count("id"))


_PARSERS: dict[str, tuple[frozenset[str], Callable[[_Fields], m.Message]]] = {
    "auth": (_allowed("token"), _auth),
    "hs": (_allowed("id", "protocol", "protocolMinor"), _handshake),
    "pp": (_allowed(), _ping),
    "f": (_allowed("c", "d", "v"), _fetch),
    "s": (_allowed("c", "d", "v"), _subscribe),
    "u": (_allowed("c", "d", "v"), _unsubscribe),
    "bf": (_allowed("c", "b"), _bulk_fetch),
    "bs": (_allowed("c", "b"), _bulk_subscribe),
    "bu": (_allowed("c", "b"), _bulk_unsubscribe),
    "op": (_allowed("c", "d", "v", "src", "seq", "x", "op", "dop", "create", "del"), _submit),
    "nf": (_allowed("id", "c", "d", "v"), _snapshot_fetch),
    "nt": (_allowed("id", "c", "d", "ts"), _snapshot_fetch_at),
    "undo": (_allowed("id", "c", "d"), lambda f: m.Undo(f.count("id"), f.name("c"), f.name("d"))),
    "redo": (_allowed("id", "c", "d"), lambda f: m.Redo(f.count("id"), f.name("c"), f.name("d"))),
    "p": (_allowed("ch", "id", "p", "pv", "c", "d", "v", "t"), _presence),
    "ps": (_allowed("ch", "seq"), _presence_subscribe),
    "pu": (_allowed("ch", "seq"), _presence_unsubscribe),
    "pr": (_allowed("ch"), _presence_request),
    "qf": (_allowed("id", "c", "q", "o", "r"), _query_fetch),
    "qs": (_allowed("id", "c", "q", "o", "r"), _query_subscribe),
    "qu": (_allowed("id"), _query_unsubscribe),
}

ACTIONS = frozenset(_PARSERS)


def parse_message(raw: dict[str, Any]) -> m.Message:
    """The typed message for a decoded JSON object; raises ProtocolError."""
    action = raw.get("a")
    if not isinstance(action, str) or action not in _PARSERS:
        raise ProtocolError(Code.UNKNOWN_ACTION, f"unknown action {action!r}", echo=echo_of(raw))
    allowed, parse = _PARSERS[action]
    return parse(_Fields(raw, allowed))


def decode(frame: str | bytes, *, max_bytes: int, max_depth: int) -> m.Message:
    """A frame from the socket, checked and typed; raises ProtocolError."""
    return parse_message(decode_frame(frame, max_bytes=max_bytes, max_depth=max_depth))
