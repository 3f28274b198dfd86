"""A TCP forwarder on loopback whose stop() cuts every connection: an outage on demand.

Tests and drills put it between a function and an emulator to make Pub/Sub or BigQuery
unreachable and then reachable again, without restarting the emulator (which would lose
its in-memory state, unlike the real services). Setting `latency` slows the service
instead: each answer is held back that many seconds. For HTTP traffic it also records the
largest request body it forwarded (`largest_request`, from the Content-Length headers), so a
drill can show that no request passed a service's size limit.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_port`; `stop()` refuses and drops, `start()` restores."""

    def __init__(self, port: int, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.port = port
        self.target = (target_host, target_port)
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.latency = 0.0  # seconds each answer is held back
        self.largest_request = 0  # bytes, the largest Content-Length seen from a client

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            asked = threading.Event()  # the client sent something not answered yet
            threading.Thread(target=self._pump, args=(client, upstream, asked, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, asked, False), daemon=True).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, asked: threading.Event, request: bool
    ) -> None:
        tail = b""
        try:
            while data := source.recv(65536):
                if request:
                    asked.set()
                    for match in _CONTENT_LENGTH.finditer(tail + data):
                        self.largest_request = max(self.largest_request, int(match.group(1)))
                    tail = data[-64:]
                elif asked.is_set():
                    asked.clear()
                    if self.latency > 0:
                        time.sleep(self.latency)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            with self._lock:
                self._sockets -= {source, sink}

    def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the accept() and stops listening (Linux)
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = set(self._sockets), set()
        for end in sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
