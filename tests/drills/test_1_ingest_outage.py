"""Drill 1: Pub/Sub cut off from `ingest` in the middle of a 10,000-event burst.

Invariant: every event answered 2xx is in BigQuery exactly once (deduplicating views);
the events answered 503 were accepted on DT's retry; nothing is lost.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import SECRET
from tests.drills.helpers import (
    Burst,
    count_in_bigquery,
    drain_dead_letters,
    fleet_bodies,
    send_burst,
    summary,
    wait_for_count,
)

PROJECT = "drillingestoutage"
EVENTS = 10_000
OUTAGE_SECONDS = 4.0


@pytest.mark.drill
def test_pubsub_outage_during_a_burst_loses_nothing_and_duplicates_nothing(drill, capsys):
    pipeline = drill.pipeline
    bodies = fleet_bodies(EVENTS, PROJECT, seed=11)
    assert len(bodies) >= EVENTS
    cut_at = len(bodies) // 3
    cut, restored = threading.Event(), threading.Event()

    def outage() -> None:
        cut.wait()
        pipeline.pubsub_proxy.stop()
        time.sleep(OUTAGE_SECONDS)
        pipeline.pubsub_proxy.start()
        restored.set()

    def after_each(burst: Burst) -> None:
        if burst.done >= cut_at:
            cut.set()

    controller = threading.Thread(target=outage, daemon=True)
    controller.start()
    try:
        burst = send_burst(pipeline.ingest_url, bodies, SECRET, drill.signer, 16, 150, after_each)
    finally:
        cut.set()
        controller.join(timeout=30)
        if not restored.is_set():
            pipeline.pubsub_proxy.start()

    started = time.monotonic()
    rows, distinct = wait_for_count(pipeline, PROJECT, len(burst.accepted), timeout=150)
    landing = time.monotonic() - started
    time.sleep(2)  # anything still in flight (a redelivered duplicate) would show now
    rows, distinct = count_in_bigquery(pipeline, PROJECT)
    landed = {row["event_id"] for row in pipeline.query(
        f"SELECT event_id FROM {{dataset}}.events WHERE project_id = '{PROJECT}'"
    )}  # fmt: skip
    ours = {letter.attributes.get("eventId") for letter in drain_dead_letters(pipeline)}
    drill.dead_letters += list(ours)
    dead = len(ours & burst.accepted)
    lost = len(burst.accepted - landed) + len(burst.given_up) + len(burst.refused)
    summary(
        capsys,
        "ingest outage",
        sent=len(bodies),
        requests=burst.requests,
        **{"2xx": burst.ok, "5xx": burst.server_errors},
        no_answer=burst.no_answer,
        retried=burst.retried_events,
        in_BigQuery=distinct,
        dead_lettered=dead,
        lost=lost,
        send_s=round(burst.seconds, 1),
        landed_after_s=round(landing, 1),
    )
    assert burst.server_errors + burst.no_answer > 0, "the outage caused no failure: the drill proved nothing"
    assert burst.retried_events > 0
    assert not burst.refused, f"events refused with 4xx: {list(burst.refused.items())[:5]}"
    assert not burst.given_up, f"{len(burst.given_up)} events never accepted within the time bound"
    assert len(burst.accepted) == len(bodies)
    assert landed == burst.accepted
    assert rows == distinct == len(burst.accepted), "an event is in the views more than once"
    assert dead == 0 and lost == 0
