"""Serve the functions with functions-framework (as Cloud Functions does), and a DT-like JWKS.

Used by the tests, the local pipeline and the benchmarks, so all of them exercise the same
real HTTP path.
"""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TextIO

from functions.config import DT_ISSUER
from local.loopback import LoopbackHttpServer, answer_json
from local.processes import ROOT, ChildProcess, listening, port_is_free

FUNCTIONS_FRAMEWORK = ROOT / ".venv" / "bin" / "functions-framework"
# Served by the ASGI server (`--asgi`, as FUNCTION_USE_ASGI=true does in terraform/functions.tf).
ASGI_TARGETS = frozenset({"ingest", "route"})


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


class FunctionServer(ChildProcess):
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
        super().__init__(port, log_path)
        self.name = f"function {target}"
        self.target = target
        self.asgi = target in ASGI_TARGETS if asgi is None else asgi
        self.env = env
        self.source = source

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(FUNCTIONS_FRAMEWORK), "--target", self.target, "--source", str(self.source),
            "--host", "127.0.0.1", "--port", str(self.port), *(["--asgi"] if self.asgi else []),
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return os.environ | {"FUNCTION_TARGET": self.target, "PYTHONUNBUFFERED": "1"} | self.env

    def ready(self) -> bool:
        return listening(self.port)

    def start(self, timeout: float = 30.0) -> None:
        super().start(timeout)

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


class JwksServer(LoopbackHttpServer):
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
        super().__init__(port)
        self.jwks = jwks
        self.issuer = issuer
        self.requests = 0
        self.gate = gate

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        if self.gate is not None:
            self.gate.wait(timeout=60)
        if request.path.endswith("/.well-known/openid-configuration"):
            answer_json(request, 200, {"issuer": self.issuer, "jwks_uri": f"{self.url}/jwks"})
        elif request.path.endswith("/jwks"):
            answer_json(request, 200, self.jwks)
        else:
            request.send_error(404)
