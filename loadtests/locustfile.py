"""Locust users that speak Tandem's wire protocol (ShareDB 1.2 over a WebSocket).

Each user connects, authenticates with ``{a: 'auth', token}``, answers the server's ``init``
with a handshake, subscribes to one dashboard and then edits it: it sets
``settings["u<n>"]`` to ``{t, n}`` and waits for the ack before the next op. Every ack is a
Locust request (type ``op``, name ``submit``) timed from submit to ack; a rejected op is a
failure. With ``TANDEM_LOAD_BROADCASTS=1`` every op received from another user is recorded too
(type ``recv``, name ``broadcast``), timed from its sender's clock (same machine) to receipt.

Configuration (environment):

- ``TANDEM_TOKENS``: comma-separated session tokens, dealt to the users in turn (or
  ``TANDEM_TOKEN`` for one); unset sends no auth frame (a plain ShareDB server).
- ``TANDEM_DASHBOARDS``: comma-separated dashboard ids, dealt in turn (or ``TANDEM_DASHBOARD``).
- ``TANDEM_OP_WAIT``: seconds between an ack and the next op (``0``: a closed loop).
- ``TANDEM_WS_PATH``: appended to ``--host`` when the host has no path (``/ws``).

Headless, e.g. 20 users for 30 seconds against a gateway on port 8000::

    TANDEM_TOKENS=... TANDEM_DASHBOARDS=... .venv/bin/locust -f loadtests/locustfile.py \\
        --headless -u 20 -r 5 -t 30s --host ws://127.0.0.1:8000

``make load`` (``python -m loadtests.load``) starts a whole stack, creates the accounts and runs
this file for a bounded time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from locust import User, constant, task
from locust.exception import StopUser
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

COLLECTION = "dashboards"
REPLY_TIMEOUT = 10.0

_numbers = itertools.count()
# Several Locust processes may edit one dashboard: the keys of this one's users are its own.
_PROCESS_TAG = secrets.token_hex(2)


def _setting(name: str) -> list[str]:
    many = os.environ.get(f"{name}S", "")
    values = [v.strip() for v in many.split(",") if v.strip()]
    one = os.environ.get(name, "").strip()
    return values or ([one] if one else [])


def _url(host: str) -> str:
    if urlsplit(host).path not in ("", "/"):
        return host
    return host.rstrip("/") + os.environ.get("TANDEM_WS_PATH", "/ws")


class ProtocolError(Exception):
    """The server answered something a ShareDB client would not accept."""


class DashboardEditor(User):
    """One client editing one dashboard in a loop, one op in flight at a time."""

    wait_time = constant(float(os.environ.get("TANDEM_OP_WAIT", "0")))

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        number = next(_numbers)
        tokens, dashboards = _setting("TANDEM_TOKEN"), _setting("TANDEM_DASHBOARD")
        if not dashboards:
            raise ValueError("set TANDEM_DASHBOARDS (or TANDEM_DASHBOARD) to dashboard ids")
        self.token = tokens[number % len(tokens)] if tokens else None
        self.dashboard = dashboards[number % len(dashboards)]
        self.key = f"u{_PROCESS_TAG}-{number}"
        self.record_broadcasts = os.environ.get("TANDEM_LOAD_BROADCASTS") == "1"
        self.socket: ClientConnection | None = None
        self.exits = contextlib.ExitStack()
        self.src = ""
        self.version = 0
        self.seq = 0
        self.count = 0
        self.last: Any = None

    # -- connection ----------------------------------------------------------------------

    def on_start(self) -> None:
        started = time.perf_counter()
        try:
            self._open()
        except (OSError, WebSocketException, ProtocolError, TimeoutError) as exc:
            self._fire("connect", "subscribe", started, exc)
            raise StopUser() from exc
        self._fire("connect", "subscribe", started)

    def _open(self) -> None:
        # No proxy (loopback only) and no compression (frames are small JSON). Entered as a
        # context (websockets wants that) that on_stop leaves.
        self.socket = self.exits.enter_context(
            connect(_url(self.host or ""), proxy=None, compression=None, open_timeout=REPLY_TIMEOUT)
        )
        if self.token is not None:
            self._send({"a": "auth", "token": self.token})
        self._until(lambda m: m.get("a") == "init")
        self._send({"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2})
        self.src = str(self._until(lambda m: m.get("a") == "hs")["id"])
        self._send({"a": "s", "c": COLLECTION, "d": self.dashboard})
        reply = self._until(lambda m: m.get("a") == "s" and m.get("d") == self.dashboard)
        self.version = int(reply["data"]["v"])
        settings = (reply["data"].get("data") or {}).get("settings") or {}
        self.last = settings.get(self.key)

    def on_stop(self) -> None:
        self.socket = None
        self.exits.close()

    def _send(self, message: dict[str, Any]) -> None:
        assert self.socket is not None
        self.socket.send(json.dumps(message))

    def _until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Read messages (keeping the version current) until one ``wanted`` accepts."""
        assert self.socket is not None
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply in time")
            message: dict[str, Any] = json.loads(self.socket.recv(timeout=left))
            if message.get("a") == "auth" and "error" in message:
                raise ProtocolError(f"auth refused: {message['error']}")
            if message.get("a") == "op":
                self._saw_op(message)
            if wanted(message):
                return message
            if "error" in message and message.get("a") in ("hs", "s"):
                raise ProtocolError(str(message["error"]))

    def _saw_op(self, message: dict[str, Any]) -> None:
        version = message.get("v")
        if isinstance(version, int) and version + 1 > self.version:
            self.version = version + 1
        if not self.record_broadcasts or "op" not in message or message.get("src") == self.src:
            return
        for component in message["op"]:
            value = component.get("oi") if isinstance(component, dict) else None
            if isinstance(value, dict) and isinstance(value.get("t"), float):
                self._fire_ms("recv", "broadcast", time.time() * 1000 - value["t"])

    # -- the task ------------------------------------------------------------------------

    def _fire(
        self, kind: str, name: str, started: float, exception: BaseException | None = None
    ) -> None:
        self._fire_ms(kind, name, (time.perf_counter() - started) * 1000, exception)

    def _fire_ms(
        self, kind: str, name: str, ms: float, exception: BaseException | None = None
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=ms,
            response_length=0,
            exception=exception,
            context={},
        )

    @task
    def submit(self) -> None:
        if self.socket is None:
            raise StopUser()
        self.count += 1
        self.seq += 1
        value = {"t": time.time() * 1000, "n": self.count}
        component: dict[str, Any] = {"p": ["settings", self.key], "oi": value}
        if self.last is not None:
            component["od"] = self.last
        seq = self.seq
        started = time.perf_counter()
        try:
            self._send(
                {
                    "a": "op",
                    "c": COLLECTION,
                    "d": self.dashboard,
                    "v": self.version,
                    "src": self.src,
                    "seq": seq,
                    "op": [component],
                }
            )
            reply = self._until(
                lambda m: m.get("a") == "op" and m.get("src") == self.src and m.get("seq") == seq
            )
        except (OSError, WebSocketException, TimeoutError, ProtocolError) as exc:
            self._fire("op", "submit", started, exc)
            self.on_stop()
            raise StopUser() from exc
        if "error" in reply:
            self._fire("op", "submit", started, ProtocolError(str(reply["error"])))
            return
        self.last = value
        self._fire("op", "submit", started)
