"""What the functions log per event, measured: the local pipeline, a simulated fleet, the bytes.

    .venv/bin/python -m bench.log_volume            writes scripts/cost/log_volume.toml

For each log level (the default, INFO, and DEBUG) it starts the whole local pipeline (both
emulators, ingest and route served by functions-framework as deployed), sends the fleet's events
signed like DT at a steady rate, waits until route has written them, stops both functions (so
their last summary is written) and counts the bytes of the JSON lines each function wrote, by
kind: per-event lines, summaries, start-up lines, the rest. docs/cost.md's Cloud Logging lines
are computed from these figures (scripts/cost_model.py), not estimated.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from local.fleet import run_fleet
from local.pipeline import Pipeline, PipelineSettings
from local.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "scripts" / "cost" / "log_volume.toml"
FUNCTIONS = ("ingest", "route")
PER_EVENT = {"event published", "event written"}


def kind_of(entry: dict) -> str:
    if entry.get("message") in PER_EVENT:
        return "per_event"
    if "summaryOf" in entry:
        return "summary"
    if str(entry.get("message", "")).endswith(" ready"):
        return "start_up"
    return "other"


def measure_log(path: Path) -> dict[str, Counter]:
    """Lines and bytes (each line with its newline) of each kind in one function's log."""
    lines, size = Counter(), Counter()
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            kind = kind_of(json.loads(line))
            lines[kind] += 1
            size[kind] += len(line.encode()) + 1
    return {"lines": lines, "bytes": size}


def run(level: str, devices: int, events: int, rate: float) -> dict:
    secret = secrets.token_urlsafe(32)
    env = {"LOG_LEVEL": level}
    settings = PipelineSettings(
        ingest_port=free_port(), route_port=free_port(), pubsub_port=free_port(),
        bigquery_port=free_port(), bigquery_grpc_port=free_port(), signature_secret=secret,
        extra_ingest_env=env, extra_route_env=env,
    )  # fmt: skip
    with Pipeline(settings) as pipeline:
        report = run_fleet(pipeline.ingest_url, secret, None, devices, events, rate=rate, progress=False)
        sent = sum(report.accepted.values())
        pipeline.wait_idle(quiet_seconds=5)
        for server in (pipeline.ingest, pipeline.route):
            server.stop()
        logs = pipeline.work_dir / "logs"
        measured = {name: measure_log(logs / f"{name}.log") for name in FUNCTIONS}
    return {"events": sent, "seconds": round(report.seconds, 1), "functions": measured}


def mean(total: int, count: int) -> float:
    return round(total / count, 1) if count else 0.0


def to_toml(results: dict[str, dict], command: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    out = [
        "# Written by bench/log_volume.py: the functions' log lines, measured on the local pipeline.",
        "# Bytes count each JSON line with its newline; Cloud Logging adds its entry's own fields",
        "# (logs.entry_overhead_bytes in inputs.toml). Re-run after changing what the functions log.",
        "",
        "[provenance]",
        f'measured_on = "{datetime.now(UTC).date().isoformat()}"',
        f'commit = "{commit.stdout.strip() or "unknown"}"',
        f'command = "{command}"',
        'machine = "this project\'s 2-core development machine, both emulators local"',
        "",
    ]
    for level, result in results.items():
        for name in FUNCTIONS:
            lines, size = result["functions"][name]["lines"], result["functions"][name]["bytes"]
            out += [
                f"[{level.lower()}.{name}]",
                f"events = {result['events']}",
                f"seconds = {result['seconds']}",
                f"bytes_per_event = {mean(sum(size.values()), result['events'])}",
                f"per_event_lines = {lines['per_event']}",
                f"per_event_line_bytes = {mean(size['per_event'], lines['per_event'])}",
                f"summary_lines = {lines['summary']}",
                f"summary_line_bytes = {mean(size['summary'], lines['summary'])}",
                f"start_up_lines = {lines['start_up']}",
                f"start_up_line_bytes = {mean(size['start_up'], lines['start_up'])}",
                f"other_lines = {lines['other']}",
                "",
            ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.log_volume", description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=2, help="devices of each DT device type (default 2)")
    parser.add_argument("--events", type=int, default=10, help="events per device (default 10)")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second (default 40)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    results = {level: run(level, args.devices, args.events, args.rate) for level in ("INFO", "DEBUG")}
    command = (
        f"python -m bench.log_volume --devices {args.devices} --events {args.events} --rate {args.rate:g}"
    )
    args.output.write_text(to_toml(results, command))
    for level, result in results.items():
        per_event = {
            name: mean(sum(result["functions"][name]["bytes"].values()), result["events"])
            for name in FUNCTIONS
        }
        print(f"{level}: {result['events']} events in {result['seconds']} s; log bytes per event {per_event}")
    print(f"wrote {args.output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
