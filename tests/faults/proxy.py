"""A TCP proxy on a loopback port that the fault suite can cut and restore.

Tandem's processes reach PostgreSQL and Redis through one each. :meth:`Proxy.cut` resets every
connection going through it and, until :meth:`Proxy.restore`, resets each new one as soon as it
is accepted: what a client sees when a network path or a service's listener goes away.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass
class Proxy:
    target_port: int
    port: int = 0
    _listener: socket.socket | None = field(default=None, repr=False)
    _pairs: dict[socket.socket, socket.socket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cut: bool = False
    _stopping: bool = False
    _thread: threading.Thread | None = field(default=None, repr=False)
    accepted: int = 0

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._run, name=f"proxy:{self.port}", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            for sock in list(self._pairs):
                _reset(sock)
            self._pairs.clear()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def stop(self) -> None:
        self._stopping = True
        self.cut()
        if self._listener is not None:
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        assert self._listener is not None
        selector = selectors.DefaultSelector()
        self._listener.setblocking(False)
        selector.register(self._listener, selectors.EVENT_READ)
        registered: set[socket.socket] = set()
        while not self._stopping:
            with self._lock:
                live = set(self._pairs)
            for sock in registered - live:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    selector.unregister(sock)
            for sock in live - registered:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    selector.register(sock, selectors.EVENT_READ)
            registered = live
            try:
                events = selector.select(timeout=0.05)
            except OSError:
                continue
            for key, _ in events:
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                else:
                    self._forward(sock)
        selector.close()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        with self._lock:
            cut = self._cut
        if cut:
            _reset(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            _reset(client)
            return
        for s in (client, upstream):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._pairs[client] = upstream
            self._pairs[upstream] = client
            self.accepted += 1

    def _forward(self, sock: socket.socket) -> None:
        with self._lock:
            peer = self._pairs.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(CHUNK)
            if data:
                peer.setblocking(True)
                peer.sendall(data)
                peer.setblocking(False)
                return
        except OSError:
            pass
        with self._lock:
            self._pairs.pop(sock, None)
            self._pairs.pop(peer, None)
        _reset(sock)
        _reset(peer)


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a broken path looks to the other side."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()
