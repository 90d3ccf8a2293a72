"""The reference OT libraries (Node) as a callable oracle for differential tests.

One ``node tests/node/ot_oracle.js`` process serves a whole test session. Calls go out in
batches, one JSON line per batch, and come back as one line, so tens of thousands of cases cost
a few round trips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from ot.errors import OTError

# Calls per line: keeps each line to a few megabytes.
CHUNK = 2000


def dumps(value: Any, option: int = 0) -> bytes:
    """JSON of ``value``; orjson, or the standard library for what orjson refuses.

    JavaScript strings may hold a lone surrogate (text split inside an emoji); JSON carries
    it as an escape, which the standard library reads and writes and orjson does not.
    """
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:
        sort = bool(option & orjson.OPT_SORT_KEYS)
        return json.dumps(value, separators=(",", ":"), sort_keys=sort).encode()


def loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


@dataclass(frozen=True)
class Call:
    """``type.fn(*args)`` in the reference libraries (see tests/node/ot_oracle.js)."""

    type: str
    fn: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Answer:
    """A result (``error is None``) or the message of what was thrown.

    ``crashed`` marks our side raising something other than :class:`OTError`, which never
    counts as agreeing with a reference that throws.
    """

    value: Any = None
    error: str | None = None
    crashed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class Oracle:
    """A running ``ot_oracle.js``; answers batches of :class:`Call`.

    :meth:`submit` runs the exchange on a thread, so our side can compute while Node does.
    """

    def __init__(self, node_dir: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: the differential tests need Node.js")
        self._process = subprocess.Popen(
            [node, "ot_oracle.js"],
            cwd=node_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        # One worker: exchanges never interleave on the pipes.
        self._worker = ThreadPoolExecutor(max_workers=1)

    def submit(self, calls: Sequence[Call]) -> Future[list[Answer]]:
        return self._worker.submit(self._answer, list(calls))

    def batch(self, calls: Sequence[Call]) -> list[Answer]:
        return self.submit(calls).result()

    def _answer(self, calls: list[Call]) -> list[Answer]:
        answers: list[Answer] = []
        for start in range(0, len(calls), CHUNK):
            answers.extend(self._exchange(calls[start : start + CHUNK]))
        return answers

    def call(self, type_: str, fn: str, *args: Any) -> Answer:
        return self.batch([Call(type_, fn, args)])[0]

    def close(self) -> None:
        self._worker.shutdown()
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def _exchange(self, calls: Sequence[Call]) -> list[Answer]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        request = [{"type": c.type, "fn": c.fn, "args": c.args} for c in calls]
        stdin.write(dumps(request) + b"\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the reference oracle exited (code {self._process.poll()})")
        raw = loads(line)
        if not isinstance(raw, list) or len(raw) != len(calls):
            raise RuntimeError(f"the reference oracle answered out of protocol: {raw!r:.200}")
        return [Answer(value=r.get("ok"), error=r.get("error")) for r in raw]


def ours(fn: Callable[..., Any], *args: Any) -> Answer:
    """Call our implementation and report like the reference; arguments must stay untouched.

    Only :class:`OTError` is a clean refusal: the OT core promises to raise nothing else.
    """
    before = dumps(args)
    try:
        result = fn(*args)
        dumps(result)  # a result must be JSON, whatever same() is asked later
        answer = Answer(value=result)
    except OTError as err:
        answer = Answer(error=f"{type(err).__name__}: {err}")
    except Exception as err:
        answer = Answer(error=f"{type(err).__name__}: {err}", crashed=True)
    if dumps(args) != before:
        return Answer(error=f"changed its arguments (and answered {answer})", crashed=True)
    return answer


def same(a: Any, b: Any) -> bool:
    """Exact equality of two values after a JSON round trip.

    Equal canonical JSON settles it; otherwise the decoded values are compared strictly,
    because ``1`` and ``1.0`` are one JSON number (JavaScript has no other) but ``true`` is
    not ``1``.
    """
    first = dumps(a, option=orjson.OPT_SORT_KEYS)
    second = dumps(b, option=orjson.OPT_SORT_KEYS)
    return first == second or _same(loads(first), loads(second))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def agree(mine: Answer, reference: Answer) -> bool:
    """Both succeeded with the same JSON value, or both refused (ours with an OTError)."""
    if mine.ok and reference.ok:
        return same(mine.value, reference.value)
    return not mine.ok and not reference.ok and not mine.crashed


_STASH = pytest.StashKey[Oracle]()


@pytest.fixture(scope="session", name="oracle")
def oracle_fixture(node_dir: Path, request: pytest.FixtureRequest) -> Iterator[Oracle]:
    """The reference oracle, started once per test session however many modules import this."""
    config = request.config
    existing = config.stash.get(_STASH, None)
    if existing is None:
        try:
            existing = Oracle(node_dir)
        except RuntimeError as err:
            pytest.fail(str(err))
        config.stash[_STASH] = existing
        config.add_cleanup(existing.close)
    yield existing
