"""Ingest throughput and latency, side by side on the same server settings, in one run:

(a) a trivial function that reads the body and answers 204,
(b) the naive DT receiver (dtintegrations verify + a blocking Pub/Sub publish),
(c) our `ingest`.
Each is served by functions-framework with the same THREADS, loaded by `wrk` on loopback
against the real Pub/Sub emulator. Every 2xx must be backed by a confirmed publish: the
messages in a subscription are counted after each run. Also: `import main` time, whether
it imports BigQuery, and the server's RSS after the load.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from google.cloud import pubsub_v1

from local import emulators
from local.dt_signing import headers_for
from local.servers import FunctionServer, free_port

ROOT = Path(__file__).resolve().parent.parent
BODY = (ROOT / "tests" / "data" / "events" / "temperature.json").read_bytes().strip()
SECRET = "bench-signature-secret-0123456789abcdef"  # noqa: S105 (a benchmark-only secret)
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = os.environ.get("BENCH_SERVER_THREADS", "32")


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    published: int | None
    rss_mib: float


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"wrk printed a latency this script cannot read: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    url: str, body: bytes, headers: dict[str, str], work_dir: Path
) -> tuple[float, float, float, int, int]:
    script = work_dir / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "-s", str(script), url + "/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _milliseconds(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _milliseconds(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, total, int(non_2xx.group(1)) if non_2xx else 0


def count_messages(subscriber: pubsub_v1.SubscriberClient, subscription: str) -> int:
    count, idle = 0, 0
    while idle < 3:
        answer = subscriber.pull(subscription=subscription, max_messages=1000, timeout=5)
        if not answer.received_messages:
            idle += 1
            continue
        idle = 0
        subscriber.acknowledge(
            subscription=subscription, ack_ids=[m.ack_id for m in answer.received_messages]
        )
        count += len(answer.received_messages)
    return count


def bench_one(
    name: str, target: str, source: Path, pubsub_host: str, work_dir: Path, publishes: bool
) -> Result:
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path("local", f"bench-{name}")
    subscription = subscriber.subscription_path("local", f"bench-{name}")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)
    env = {
        "PUBSUB_EMULATOR_HOST": pubsub_host,
        "PUBSUB_TOPIC": topic,
        "DT_SIGNATURE_SECRET": SECRET,
        "THREADS": THREADS,
    }
    server = FunctionServer(target, free_port(), env, work_dir / f"{name}.log", source=source)
    server.start()
    try:
        headers = headers_for(BODY, secret=SECRET)
        run_wrk(server.url, BODY, headers, work_dir)  # warm-up (and JIT of the emulator)
        if publishes:
            count_messages(subscriber, subscription)
        rps, p50, p99, total, non_2xx = run_wrk(server.url, BODY, headers, work_dir)
        published = count_messages(subscriber, subscription) if publishes else None
        rss = server.rss_bytes() / 2**20
    finally:
        server.stop()
    return Result(name, rps, p50, p99, total, non_2xx, published, rss)


def import_time() -> tuple[float, bool]:
    """Median wall time of `import main` in a fresh interpreter, and whether BigQuery got imported."""
    code = "import time, sys; t = time.perf_counter(); import main; print(time.perf_counter() - t, 'google.cloud.bigquery' in sys.modules)"
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                             env=os.environ | {"FUNCTION_TARGET": ""}).stdout.split()  # fmt: skip
        runs.append((float(out[0]), out[1] == "True"))
    runs.sort()
    return runs[2]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, emulators.running(free_port(), bigquery=False) as (pubsub, _):
        work_dir = Path(tmp)
        os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
        results = [
            bench_one("trivial", "trivial", ROOT / "bench" / "trivial_main.py", pubsub.host, work_dir, False),
            bench_one("naive", "naive", ROOT / "bench" / "naive_main.py", pubsub.host, work_dir, True),
            bench_one("ours", "ingest", ROOT / "main.py", pubsub.host, work_dir, True),
        ]
    print(f"\nIngest benchmark: wrk -c{CONNECTIONS} -d{DURATION}, functions-framework THREADS={THREADS}, "
          f"Pub/Sub emulator, {time.strftime('%Y-%m-%d')}\n")  # fmt: skip
    print(
        f"{'function':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'non-2xx':>8} {'published':>10} {'RSS MiB':>8}"
    )
    for r in results:
        published = "-" if r.published is None else str(r.published)
        print(f"{r.name:<10} {r.requests_per_second:>9.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.requests:>9} "
              f"{r.non_2xx:>8} {published:>10} {r.rss_mib:>8.0f}")  # fmt: skip
    trivial, naive, ours = results
    print(f"\nours / naive   = {ours.requests_per_second / naive.requests_per_second:.2f}x (target >= 2.0)")
    print(f"ours / trivial = {ours.requests_per_second / trivial.requests_per_second:.2f}x (target >= 0.8)")
    for r in (naive, ours):
        backed = r.published is not None and r.published >= r.requests - r.non_2xx
        print(f"{r.name}: every 2xx backed by a confirmed publish: {backed} "
              f"({r.requests - r.non_2xx} 2xx, {r.published} messages)")  # fmt: skip
    seconds, imports_bigquery = import_time()
    print(f"import main: {seconds * 1000:.0f} ms (median of 5); imports BigQuery: {imports_bigquery}")
