"""Router throughput and end-to-end latency on the real emulators, in one run:

(1) Pub/Sub → BigQuery: N messages published straight to the ingest topic; events/s until
    every row is visible in BigQuery.
(2) End to end, as fast as possible: N signed events POSTed to ingest (concurrently); events/s
    from the first request until every row is visible.
(3) End-to-end latency at a steady rate: for each event, from ingest's 2xx answer to the row
    being written (`ingested_at`), p50 and p99.
Also, for (1): route's CPU milliseconds per event (from /proc over its process tree) and the mean
rows per BigQuery insert request (route reaches bqemulator through a counting proxy).
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from functions import envelope
from local.fleet import HttpSender, PlannedEvent, make_devices, plan
from local.loopback import LoopbackHttpServer, answer
from local.pipeline import Pipeline, PipelineSettings
from local.reading import wait_for_count
from local.servers import free_port

EVENTS = int(os.environ.get("BENCH_EVENTS", "3000"))
LATENCY_EVENTS = int(os.environ.get("BENCH_LATENCY_EVENTS", "300"))
LATENCY_RATE = float(os.environ.get("BENCH_LATENCY_RATE", "100"))


class CountingProxy(LoopbackHttpServer):
    """Forwards HTTP to bqemulator and counts the insertAll requests and the rows they carry."""

    protocol_version = "HTTP/1.1"

    def __init__(self, target_port: int) -> None:
        super().__init__(free_port())
        self.target_port = target_port
        self.inserts = 0
        self.rows = 0
        self._lock = threading.Lock()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if request.command == "POST" and request.path.split("?")[0].endswith("/insertAll"):
            with self._lock:
                self.inserts += 1
                self.rows += len(json.loads(body).get("rows", []))
        upstream = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=120)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
        try:
            upstream.request(request.command, request.path, body=body or None, headers=headers)
            reply = upstream.getresponse()
            passed = {
                key: value
                for key, value in reply.getheaders()
                if key.lower() not in ("transfer-encoding", "connection", "content-length")
            }
            answer(request, reply.status, reply.read(), passed)
        except OSError:  # the client gave up (its deadline) or bqemulator went away
            request.close_connection = True
        finally:
            upstream.close()

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.inserts, self.rows


def _events(count: int, seed: int) -> list[bytes]:
    devices = make_devices(4, "benchproject00000001", seed)
    per_device = max(1, count // len(devices) + 1)
    bodies = [event.body for event in plan(devices, per_device, timedelta(hours=24), datetime.now(UTC))]
    return bodies[:count]


def _wait_for(pipeline: Pipeline, total: int, timeout: float = 600) -> float:
    """The time.monotonic() at which the events view held `total` events in all (polled)."""

    def landed() -> int:
        [row] = pipeline.query("SELECT COUNT(*) AS n FROM {dataset}.events")
        return int(row["n"])

    if wait_for_count(landed, total, timeout, interval=1.0) < total:
        raise TimeoutError(f"only part of {total} events landed within {timeout} s")
    return time.monotonic()


def main() -> None:
    bigquery_port = free_port()
    proxy = CountingProxy(bigquery_port).start()
    settings = PipelineSettings(
        ingest_port=free_port(), route_port=free_port(), pubsub_port=free_port(),
        bigquery_port=bigquery_port, bigquery_grpc_port=free_port(),
        extra_route_env={"BIGQUERY_API_ENDPOINT": proxy.url},
    )  # fmt: skip
    with Pipeline(settings) as pipeline:
        assert pipeline.publisher is not None and pipeline.route is not None
        landed = 0

        # (1) Pub/Sub -> BigQuery
        bodies = _events(EVENTS, seed=1)
        route_cpu, (inserts, inserted) = pipeline.route.cpu_seconds(), proxy.snapshot()
        started = time.monotonic()
        futures = [
            pipeline.publisher.publish(
                pipeline.topic_path, body, **envelope.parse(body).attributes(), source="bench"
            )
            for body in bodies
        ]
        for future in futures:
            future.result(timeout=60)
        landed += len(bodies)
        route_rate = len(bodies) / (_wait_for(pipeline, landed) - started)
        route_cpu_ms = (pipeline.route.cpu_seconds() - route_cpu) * 1000 / len(bodies)
        inserts, inserted = (
            now - before for now, before in zip(proxy.snapshot(), (inserts, inserted), strict=True)
        )

        # (2) End to end, as fast as possible
        bodies = _events(EVENTS, seed=2)
        sender = HttpSender(pipeline.ingest_url, settings.signature_secret, None, concurrency=32)
        started = time.monotonic()
        report = sender.send_all([PlannedEvent.from_body(body) for body in bodies])
        landed += sum(report.accepted.values())
        end_to_end_rate = len(bodies) / (_wait_for(pipeline, landed) - started)

        # (3) Latency at a steady rate: answer -> row written
        bodies = _events(LATENCY_EVENTS, seed=3)
        answered: dict[str, datetime] = {}
        steady = HttpSender(
            pipeline.ingest_url, settings.signature_secret, None, concurrency=8, rate=LATENCY_RATE
        )
        for body in bodies:
            answer, _ = steady.post(body)
            assert answer is not None and answer.status_code == 200, answer
            answered[envelope.parse(body).event_id] = datetime.now(UTC)
        landed += len(bodies)
        _wait_for(pipeline, landed)
        ids = ", ".join(f"'{event_id}'" for event_id in answered)
        rows = pipeline.query(
            f"SELECT event_id, MIN(ingested_at) AS written FROM {{dataset}}.events WHERE event_id IN ({ids}) GROUP BY event_id"
        )
        delays = sorted((row["written"] - answered[row["event_id"]]).total_seconds() * 1000 for row in rows)
        p50 = statistics.median(delays)
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    proxy.stop()

    print(
        f"\nRouter benchmark ({time.strftime('%Y-%m-%d')}, emulators, route THREADS={settings.route_threads}):"
    )
    print(f"  Pub/Sub -> BigQuery:           {route_rate:8.0f} events/s ({EVENTS} events)")
    print(f"  route CPU per event:           {route_cpu_ms:8.2f} ms (route's process tree, from /proc)")
    print(
        f"  rows per BigQuery request:     {inserted / max(1, inserts):8.1f} ({inserted} rows in {inserts} insertAll requests)"
    )
    print(
        f"  webhook -> BigQuery, flat out: {end_to_end_rate:8.0f} events/s ({EVENTS} events; target >= 1000)"
    )
    print(
        f"  answer -> row written at {LATENCY_RATE:g}/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms ({len(delays)} events)"
    )


# The BigQuery subscription router (no route function): its JavaScript transform and the local stand-in.
def bigquery_subscription_main() -> None:
    """The transform's size and time per message in Node (the SMT limits: 20 KB of code, 500 ms a
    message), and the stand-in's throughput, Pub/Sub -> events_log (local/bigquery_subscription.py:
    one-shot pulls of up to 500, the transform in one Node process, one insertAll per pull)."""
    from functions.transform import UDF_FILE
    from local.transform_runner import Call, TransformRunner

    bodies = _events(EVENTS, seed=5)
    sample = bodies[:: max(1, len(bodies) // 200)]
    with TransformRunner() as udf:
        outcomes = udf.run([Call(body.decode(), {"source": "webhook"}, {}, repeat=2000) for body in sample])
    per_message_ms = statistics.mean(outcome.ms or 0.0 for outcome in outcomes)
    worst_ms = max(outcome.ms or 0.0 for outcome in outcomes)
    settings = PipelineSettings(
        router="bigquery_subscription", ingest_port=free_port(), route_port=free_port(), pubsub_port=free_port(),
        bigquery_port=free_port(), bigquery_grpc_port=free_port(),
    )  # fmt: skip
    with Pipeline(settings) as pipeline:
        assert pipeline.publisher is not None
        started = time.monotonic()
        futures = [pipeline.publisher.publish(pipeline.topic_path, body) for body in bodies]
        for future in futures:
            future.result(timeout=60)
        rate = len(bodies) / (_wait_for(pipeline, len(bodies)) - started)
    print(f"\nBigQuery subscription router ({time.strftime('%Y-%m-%d')}, stand-in on the emulators):")
    print(f"  transform size:                {UDF_FILE.stat().st_size:8d} bytes (SMT limit 20 KB)")
    print(
        f"  transform time per message:    {per_message_ms:8.3f} ms mean, {worst_ms:.3f} ms slowest event (limit 500)"
    )
    print(f"  Pub/Sub -> BigQuery (stand-in): {rate:7.0f} events/s ({len(bodies)} events)")
