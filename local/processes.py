"""A server in a child process: started, polled until it is ready, stopped with its children.

The base of the emulators (local/emulators.py) and of the served functions (local/servers.py):
each says only how it is started (`command`, `environment`) and when it is ready (`ready`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class ChildProcess:
    """One server process in a session of its own (so that `stop` reaches its children too: the
    Pub/Sub emulator is a shell script running Java, functions-framework forks workers), its
    output in `log_path`. `error` is the exception type its start-up failures raise."""

    name = "server"
    error: type[RuntimeError] = RuntimeError

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The child's environment (None: this process's)."""
        return None

    def ready(self) -> bool:
        """Whether the started server answers (polled every 0.1 s)."""
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> None:
        if not port_is_free(self.port):
            raise self.error(
                f"port {self.port} for the {self.name} is taken; stop what uses it or pick another"
            )
        command, environment = self.command(), self.environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.error(
                    f"the {self.name} exited at start-up; from {self.log_path}:\n{self.log_tail()}"
                )
            if self.ready():
                return
            time.sleep(0.1)
        self.stop()
        raise self.error(
            f"the {self.name} was not ready on port {self.port} within {timeout:g} s; see {self.log_path}"
        )

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]

    def stop(self) -> None:
        """Stop the server and all its children; returns once its port can be bound again (the JVM
        releases it asynchronously), so that a restart on the same port works."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on `port`."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
