"""The JavaScript transform in a real JavaScript engine: Node, one long-lived process.

Used by the BigQuery subscription stand-in (local/bigquery_subscription.py), the parity tests and
the benchmark, so all of them run the very file Terraform deploys
(functions/transform/dt_event_to_row.js) as the SMT runtime would: ECMAScript built-ins only,
500 ms per message (local/transform_runner.js). `./run setup` installs Node (Debian's nodejs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from functions.transform import FUNCTION_NAME, UDF_FILE

DRIVER = Path(__file__).resolve().parent / "transform_runner.js"
TIME_LIMIT_MS = 500  # the SMT runtime's limit per message


@dataclass(frozen=True)
class Outcome:
    """What the UDF did with one message: a new message (`data`, `attributes`), a filter (`filtered`),
    or an exception (`error`, its message)."""

    data: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    filtered: bool = False
    error: str | None = None
    ms: float | None = None  # per call, when asked to repeat


@dataclass(frozen=True)
class Call:
    data: str
    attributes: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    now_ms: int | None = None
    repeat: int | None = None


class TransformRunner:
    """`with TransformRunner() as udf: udf.run([Call(data, attributes, metadata)])`."""

    def __init__(self, udf_file: Path = UDF_FILE, function_name: str = FUNCTION_NAME) -> None:
        self.udf_file, self.function_name = udf_file, function_name
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> TransformRunner:
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise RuntimeError("Node.js is needed to run the JavaScript transform: ./run setup installs it")
        self._process = subprocess.Popen(
            [node, str(DRIVER), str(self.udf_file), self.function_name, str(TIME_LIMIT_MS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogatepass",
            bufsize=1,
        )
        return self

    def run(self, calls: list[Call]) -> list[Outcome]:
        """Each call's outcome, in order (the calls are sent at once, then the answers read)."""
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the transform runner is not started")
        lines = "".join(
            json.dumps({"message": {"data": call.data, "attributes": call.attributes}, "metadata": call.metadata,
                        "now_ms": call.now_ms, "repeat": call.repeat}) + "\n"
            for call in calls
        )  # fmt: skip
        with self._lock:
            process.stdin.write(lines)
            process.stdin.flush()
            answers = [process.stdout.readline() for _ in calls]
        if any(not answer for answer in answers):
            raise RuntimeError(f"the transform runner (node) stopped, exit code {process.poll()}")
        return [Outcome(**json.loads(answer)) for answer in answers]

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def __enter__(self) -> TransformRunner:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
