"""Start and stop the real emulators: Google's Pub/Sub emulator and bqemulator (BigQuery).

Used by the tests, the local pipeline and the benchmarks. Each emulator is a child process
on a configurable port, polled until it answers, and stopped (with its children) on exit.

    python -m local.emulators            # run both until Ctrl-C
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from local.processes import ROOT, ChildProcess
from local.settings import add_setting

# Where the gcloud SDK puts the Pub/Sub emulator, under its root (`gcloud components install
# pubsub-emulator`, or the Debian/RPM package google-cloud-cli-pubsub-emulator).
PUBSUB_EMULATOR_IN_SDK = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
DEBIAN_SDK_ROOT = Path("/usr/lib/google-cloud-sdk")
BQEMULATOR = ROOT / ".venv-bqemulator" / "bin" / "bqemulator"


class EmulatorError(RuntimeError):
    """An emulator is missing or did not become ready."""


def _gcloud_info_sdk_root() -> Path | None:
    """The SDK root as gcloud itself reports it (slow: a Python start-up; the last resort)."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    try:
        answer = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    root = answer.stdout.strip()
    return Path(root) if root else None


@functools.cache
def find_pubsub_emulator() -> Path:
    """The `cloud-pubsub-emulator` launcher, found the ways the gcloud SDK installs it:
    $PUBSUB_EMULATOR_BIN, then PATH, then the SDK of the `gcloud` on PATH, the Debian
    package's SDK root, and last what `gcloud info` reports."""
    tried: list[str] = []
    explicit = os.environ.get("PUBSUB_EMULATOR_BIN", "").strip()
    if explicit:
        if os.access(explicit, os.X_OK):
            return Path(explicit)
        raise EmulatorError(f"PUBSUB_EMULATOR_BIN={explicit} is not an executable file")
    on_path = shutil.which("cloud-pubsub-emulator")
    if on_path is not None:
        return Path(on_path)
    tried.append("cloud-pubsub-emulator on PATH")
    roots = []
    gcloud = shutil.which("gcloud")
    if gcloud is not None:
        roots.append(Path(gcloud).resolve().parent.parent)  # <sdk root>/bin/gcloud
    roots.append(DEBIAN_SDK_ROOT)
    for root in roots:
        candidate = root / PUBSUB_EMULATOR_IN_SDK
        if os.access(candidate, os.X_OK):
            return candidate
        tried.append(str(candidate))
    reported = _gcloud_info_sdk_root()
    if reported is not None:
        candidate = reported / PUBSUB_EMULATOR_IN_SDK
        if os.access(candidate, os.X_OK):
            return candidate
        tried.append(f"{candidate} (gcloud info)")
    raise EmulatorError(
        "Google's Pub/Sub emulator is not installed (looked for " + ", ".join(tried) + "). Install it with "
        "`./run setup` (Debian package google-cloud-cli-pubsub-emulator), or "
        "`gcloud components install pubsub-emulator`, or set PUBSUB_EMULATOR_BIN to its launcher."
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


class Emulator(ChildProcess):
    """One emulator process; `start()` returns when it answers on `ready_url`."""

    name = "emulator"
    error = EmulatorError

    def __init__(self, port: int, log_dir: Path) -> None:
        super().__init__(port, log_dir / f"{self.name}-{port}.log")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ready_url(self) -> str:
        return f"http://{self.host}/"

    def ready(self) -> bool:
        return _answers(self.ready_url)


class PubSubEmulator(Emulator):
    """Google's official Pub/Sub emulator, from the gcloud SDK (see `find_pubsub_emulator`).

    It keeps everything in memory: a restart loses topics, subscriptions and messages.
    """

    name = "pubsub-emulator"

    def command(self) -> list[str]:
        return [str(find_pubsub_emulator()), "--host=127.0.0.1", f"--port={self.port}"]


class BigQueryEmulator(Emulator):
    """bqemulator (PyPI), DuckDB-backed; with `persistent`, a restart keeps the tables and rows."""

    name = "bigquery-emulator"

    def __init__(
        self, port: int, log_dir: Path, data_dir: Path, project: str, grpc_port: int, persistent: bool = False
    ) -> None:
        super().__init__(port, log_dir)
        self.data_dir = data_dir
        self.project = project
        self.grpc_port = grpc_port
        self.persistent = persistent

    @property
    def ready_url(self) -> str:
        return f"http://{self.host}/bigquery/v2/projects/{self.project}/datasets"

    def storage_args(self) -> list[str]:
        # In memory is about 3x faster per insert; on disk survives a restart (outage drills).
        if not self.persistent:
            return ["--ephemeral"]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return ["--persistent", "--data-dir", str(self.data_dir)]

    def command(self) -> list[str]:
        if not BQEMULATOR.exists():
            raise EmulatorError(f"{BQEMULATOR} is missing: run ./run setup")
        return [
            str(BQEMULATOR), "start", "--project", self.project, "--log-level", "warning",
            "--rest-port", str(self.port), "--grpc-port", str(self.grpc_port),
            *self.storage_args(),
        ]  # fmt: skip


@contextmanager
def running(
    pubsub_port: int = 8085, bigquery_port: int = 9050, bigquery_grpc_port: int = 9060,
    project: str = "local", work_dir: Path | None = None, bigquery: bool = True,
) -> Iterator[tuple[PubSubEmulator, BigQueryEmulator | None]]:  # fmt: skip
    """Both emulators (or Pub/Sub only) for the duration of the block, with fresh data."""
    own_dir = work_dir is None
    base = Path(tempfile.mkdtemp(prefix="dt-emulators-")) if work_dir is None else work_dir
    pubsub = PubSubEmulator(pubsub_port, base / "logs")
    bq = (
        BigQueryEmulator(bigquery_port, base / "logs", base / "bigquery", project, bigquery_grpc_port)
        if bigquery
        else None
    )
    try:
        pubsub.start()
        if bq is not None:
            bq.start()
        yield pubsub, bq
    finally:
        if bq is not None:
            bq.stop()
        pubsub.stop()
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the Pub/Sub and BigQuery emulators until Ctrl-C.")
    add_setting(parser, "--pubsub-port", "PUBSUB_PORT", 8085, os.environ, "the Pub/Sub emulator's port", int)
    add_setting(parser, "--bigquery-port", "BIGQUERY_PORT", 9050, os.environ, "bqemulator's REST port", int)
    add_setting(
        parser, "--bigquery-grpc-port", "BIGQUERY_GRPC_PORT", 9060, os.environ, "bqemulator's gRPC port", int
    )
    add_setting(parser, "--project", "GOOGLE_CLOUD_PROJECT", "local", os.environ, "the Google project")
    parser.add_argument(
        "--find-pubsub",
        action="store_true",
        help="only print where the Pub/Sub emulator is (exit 1 if missing)",
    )
    args = parser.parse_args()
    if args.find_pubsub:
        try:
            print(find_pubsub_emulator())
        except EmulatorError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    with running(args.pubsub_port, args.bigquery_port, args.bigquery_grpc_port, args.project):
        print(f"Pub/Sub emulator: PUBSUB_EMULATOR_HOST=127.0.0.1:{args.pubsub_port}")
        print(f"BigQuery emulator: http://127.0.0.1:{args.bigquery_port} (project {args.project})")
        print("Ctrl-C to stop.")
        with suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
