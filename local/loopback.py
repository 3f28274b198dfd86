"""An HTTP server on 127.0.0.1 in a thread of this process: the base of the local stand-ins that
answer HTTP (DT's key server in local/servers.py, the fake DT API in tests/support/, the
benchmark's counting proxy in bench/router.py). A subclass implements `handle`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackHttpServer:
    """Serves every request with `handle(request)`, quietly (no line per request), on `port`
    (0: one the kernel picks), from `start()` to `stop()`."""

    protocol_version = "HTTP/1.0"

    def __init__(self, port: int = 0) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = outer.protocol_version

            def do_GET(self) -> None:
                outer.handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError


def answer(
    request: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str] | None = None
) -> None:
    """Send `data` as the whole answer, with its Content-Length."""
    request.send_response(status)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)


def answer_json(
    request: BaseHTTPRequestHandler, status: int, document: Any, headers: dict[str, str] | None = None
) -> None:
    answer(
        request, status, json.dumps(document).encode(), {"Content-Type": "application/json"} | (headers or {})
    )
