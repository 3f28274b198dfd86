"""Serve the functions with functions-framework (as Cloud Functions does), and a DT-like JWKS.

Used by the tests, the local pipeline and the benchmarks, so all of them exercise the same
real HTTP path.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from functions.config import DT_ISSUER
from local.emulators import ROOT, port_is_free

FUNCTIONS_FRAMEWORK = ROOT / ".venv" / "bin" / "functions-framework"
# Served by the ASGI server (`--asgi`, as FUNCTION_USE_ASGI=true does in terraform/functions.tf).
ASGI_TARGETS = frozenset({"ingest"})


# Ports handed out by free_port: below Linux's ephemeral range (32768-60999 by default), where the
# kernel also picks the local ports of outgoing connections, so none of those can take one
# between free_port and the server's bind.
_PORTS = range(20_000, 32_000)
_RESERVATIONS = Path(tempfile.gettempdir()) / "dt-bigquery-ports"
_held: list[TextIO] = []  # open, locked reservation files: released when this process ends


def free_port() -> int:
    """A port nothing listens on and that no other process using free_port holds: each is
    reserved with a lock on a file, held while this process lives (pytest's workers, the local
    pipeline and the benchmarks start servers side by side; a port only checked free could be
    given to two of them before either listens)."""
    _RESERVATIONS.mkdir(exist_ok=True)
    for _ in range(1_000):
        port = random.choice(_PORTS)
        reservation = open(_RESERVATIONS / str(port), "a")  # noqa: SIM115 (held open on purpose)
        try:
            fcntl.flock(reservation, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            reservation.close()
            continue
        if port_is_free(port):
            _held.append(reservation)
            return port
        reservation.close()
    raise RuntimeError(f"no free port found in {_PORTS.start}-{_PORTS.stop - 1}")


class FunctionServer:
    """`functions-framework --target TARGET [--asgi]` in a child process, on 127.0.0.1:PORT.

    `asgi` defaults to how the target is deployed (ASGI_TARGETS).
    """

    def __init__(
        self,
        target: str,
        port: int,
        env: dict[str, str],
        log_path: Path,
        source: Path = ROOT / "main.py",
        asgi: bool | None = None,
    ) -> None:
        self.target = target
        self.asgi = target in ASGI_TARGETS if asgi is None else asgi
        self.port = port
        self.env = env
        self.log_path = log_path
        self.source = source
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if not port_is_free(self.port):
            raise RuntimeError(f"port {self.port} for function {self.target} is taken")
        env = os.environ | {"FUNCTION_TARGET": self.target, "PYTHONUNBUFFERED": "1"} | self.env
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(FUNCTIONS_FRAMEWORK), "--target", self.target, "--source", str(self.source),
                 "--host", "127.0.0.1", "--port", str(self.port), *(["--asgi"] if self.asgi else [])],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"function {self.target} exited at start-up:\n{self.log_path.read_text()[-3000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"function {self.target} did not listen on port {self.port} within {timeout:g} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def process_tree(self) -> list[int]:
        """The server's pid and those of all its descendants (gunicorn's workers)."""
        assert self.process is not None
        pids, index = [self.process.pid], 0
        while index < len(pids):
            for task in Path(f"/proc/{pids[index]}/task").glob("*/children"):
                pids += [int(pid) for pid in task.read_text().split()]
            index += 1
        return pids

    def _sum_over_tree(self, proc_file: str, field: str) -> int:
        """Bytes of a `Field: N kB` line of /proc/<pid>/<proc_file>, summed over the process tree."""
        total = 0
        for pid in self.process_tree():
            for line in Path(f"/proc/{pid}/{proc_file}").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1]) * 1024
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the server and its worker processes."""
        return self._sum_over_tree("status", "VmRSS")

    def pss_bytes(self) -> int:
        """Proportional memory of the server and its workers: pages the worker shares with the
        master it was forked from count once, as they do against the instance's memory limit."""
        return self._sum_over_tree("smaps_rollup", "Pss")

    def cpu_seconds(self) -> float:
        """User + system CPU used so far by the server and its worker processes (from /proc)."""
        ticks = 0
        for pid in self.process_tree():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")


class JwksServer:
    """Serves an OIDC discovery document and a JWKS on loopback, as DT's identity server does.

    With `gate`, each answer waits until the gate is set (a key server that is slow to answer).
    """

    def __init__(
        self,
        jwks: dict[str, Any],
        port: int = 0,
        gate: threading.Event | None = None,
        issuer: str = DT_ISSUER,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                if gate is not None:
                    gate.wait(timeout=60)
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {"issuer": outer.issuer, "jwks_uri": f"{outer.url}/jwks"}
                elif self.path.endswith("/jwks"):
                    body = outer.jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
