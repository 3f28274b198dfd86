"""Drill 2d-2e: BigQuery slowed (not cut) under a backlog, and a burst of large events.

2d. BigQuery answers every request of `route` SLOW_SECONDS late (latency injected at the TCP
    proxy) while a backlog of BACKLOG events waits in the subscription; then it is restored.
    Invariant: every event lands exactly once in the views, none is dead-lettered or lost, and
    the backlog drains in bounded time after the restore.
2e. Large events of several types at once, each body close to the ingest's 256 KiB limit and
    made of characters that JSON-escaping inflates: their rows are about 1 MB each, so the rows
    waiting together are well over BigQuery's 10 MB insertAll request limit. The router must
    split them: no request over the limit (measured at the proxy), and every event lands.
"""

from __future__ import annotations

import json
import time

import pytest

from functions import envelope
from functions.bigquery_writer import MAX_REQUEST_BYTES
from local.dt_signing import new_xid
from tests.support.drills import count_in_bigquery, drain_dead_letters, fleet_bodies, summary
from tests.support.dt import SECRET, event_id, example_body
from tests.support.senders import send_burst

SLOW_PROJECT = "drillbigqueryslow"
BACKLOG = 5_000
LATENCY_SECONDS = 2.0  # below the drills' BIGQUERY_TIMEOUT_SECONDS=3: slow, not failing
SLOW_SECONDS = 20.0
LARGE_PROJECT = "drilllargeevents"
LARGE_TYPES = ("temperature", "touch", "humidity", "co2")
LARGE_PER_TYPE = 8


def landed_ids(pipeline, project: str) -> set[str]:
    return {row["event_id"] for row in pipeline.query(
        f"SELECT event_id FROM {{dataset}}.events WHERE project_id = '{project}'"
    )}  # fmt: skip


def wait_for_all(pipeline, project: str, ids: set[str], timeout: float) -> tuple[set[str], set[str]]:
    """(landed, dead-lettered) event ids of `ids`, once all are one or the other or at `timeout`."""
    deadline = time.monotonic() + timeout
    dead: set[str] = set()
    while True:
        dead |= {m.attributes.get("eventId") for m in drain_dead_letters(pipeline, 1)} & ids
        _, distinct = count_in_bigquery(pipeline, project)
        if distinct + len(dead) >= len(ids) or time.monotonic() > deadline:
            return landed_ids(pipeline, project) & ids, dead
        time.sleep(1)


@pytest.mark.drill
@pytest.mark.timeout(600)  # about 2 min on an idle 2-core machine; the emulator is the bottleneck
def test_a_backlog_under_a_slow_bigquery_lands_exactly_once_after_the_restore(drill, record_property):
    pipeline = drill.pipeline
    assert pipeline.wait_idle(quiet_seconds=3, timeout=180), "the pipeline never became idle"
    bodies = fleet_bodies(BACKLOG, SLOW_PROJECT, seed=42)[:BACKLOG]
    ids = {event_id(body) for body in bodies}
    assert len(ids) == BACKLOG
    proxy = pipeline.bigquery_proxy
    proxy.latency = LATENCY_SECONDS
    try:
        started = time.monotonic()
        futures = [
            pipeline.publisher.publish(
                pipeline.topic_path, body, **(envelope.parse(body).attributes() | {"source": "webhook"})
            )
            for body in bodies
        ]
        for future in futures:
            future.result(timeout=60)
        published_s = time.monotonic() - started
        time.sleep(max(0.0, SLOW_SECONDS - published_s))
        _, landed_while_slow = count_in_bigquery(pipeline, SLOW_PROJECT)
    finally:
        proxy.latency = 0.0
    restored = time.monotonic()
    landed, dead = wait_for_all(pipeline, SLOW_PROJECT, ids, timeout=420)
    drain_s = time.monotonic() - restored
    time.sleep(2)  # a late redelivered duplicate would show now
    rows, distinct = count_in_bigquery(pipeline, SLOW_PROJECT)
    [raw] = pipeline.query(
        f"SELECT COUNT(*) AS n FROM {{dataset}}.temperature WHERE project_id = '{SLOW_PROJECT}'"
    )
    summary(
        record_property,
        "slow BigQuery",
        backlog=BACKLOG,
        latency_s=LATENCY_SECONDS,
        slow_s=round(time.monotonic() - started - drain_s, 1),
        landed_while_slow=landed_while_slow,
        in_BigQuery=distinct,
        dead_lettered=len(dead),
        lost=len(ids - landed - dead),
        drained_s_after_restore=round(drain_s, 1),
        relay_failed_deliveries=pipeline.relay.failed if pipeline.relay else None,
    )
    assert landed_while_slow < BACKLOG, "BigQuery was not slow enough to leave a backlog"
    assert landed == ids, f"{len(ids - landed)} events not in BigQuery"
    assert not dead
    assert rows == distinct == BACKLOG, "an event is in the views more than once"
    assert raw["n"] >= 1


def large_body(event_type: str) -> bytes:
    """A DT event of `event_type` close to 256 KiB, whose row is about 1 MB once encoded."""
    document = json.loads(example_body(event_type))
    document["event"]["eventId"] = new_xid()
    document["event"]["targetName"] = f"projects/{LARGE_PROJECT}/devices/{new_xid()}"
    document["metadata"]["projectId"] = LARGE_PROJECT
    document["labels"]["name"] = "é" * 50_000  # 100 kB of UTF-8; 6 bytes each as \u00e9
    document["labels"]["description"] = "ø" * 60_000
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.drill
def test_a_burst_of_large_events_lands_with_no_request_over_bigquerys_limits(drill, record_property):
    pipeline = drill.pipeline
    assert pipeline.wait_idle(quiet_seconds=3, timeout=180), "the pipeline never became idle"
    bodies = [large_body(event_type) for event_type in LARGE_TYPES for _ in range(LARGE_PER_TYPE)]
    assert max(len(body) for body in bodies) < 256 * 1024
    ids = {event_id(body) for body in bodies}
    proxy = pipeline.bigquery_proxy
    proxy.largest_request = 0
    proxy.latency = 1.0  # rows gather while a call is in flight: the batches grow
    try:
        burst = send_burst(pipeline.ingest_url, bodies, SECRET, drill.signer, 16, 120)
        assert len(burst.accepted) == len(bodies), burst
        landed, dead = wait_for_all(pipeline, LARGE_PROJECT, ids, timeout=180)
    finally:
        proxy.latency = 0.0
    rows, distinct = count_in_bigquery(pipeline, LARGE_PROJECT)
    summary(
        record_property,
        "large events",
        sent=len(bodies),
        types=len(LARGE_TYPES),
        largest_body_bytes=max(len(body) for body in bodies),
        in_BigQuery=distinct,
        dead_lettered=len(dead),
        lost=len(ids - landed - dead),
        largest_request_bytes=proxy.largest_request,
        limit_bytes=MAX_REQUEST_BYTES,
    )
    assert proxy.largest_request <= MAX_REQUEST_BYTES
    assert proxy.largest_request > MAX_REQUEST_BYTES // 2, "the rows never gathered: the split was not tested"
    assert landed == ids and not dead
    assert rows == distinct == len(bodies)
