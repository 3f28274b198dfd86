"""Drill 1 (sending): Pub/Sub cut off from `ingest` in the middle of a 10,000-event burst.

The events land while the hostile-input drill runs; test_3_ingest_outage_landed.py checks
the invariant: every event answered 2xx is in BigQuery exactly once (deduplicating views),
the events answered 503 were accepted on DT's retry, nothing is lost.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import SECRET
from tests.drills.helpers import Burst, fleet_bodies, send_burst

PROJECT = "drillingestoutage"
EVENTS = 10_000
OUTAGE_SECONDS = 4.0


@pytest.mark.drill
def test_a_burst_with_a_pubsub_outage_is_accepted_in_full_on_retry(drill):
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
    drill.state["ingest outage"] = (bodies, burst, time.monotonic())
    assert burst.server_errors + burst.no_answer > 0, "the outage caused no failure: the drill proved nothing"
    assert burst.retried_events > 0
    assert not burst.refused, f"events refused with 4xx: {list(burst.refused.items())[:5]}"
    assert not burst.given_up, f"{len(burst.given_up)} events never accepted within the time bound"
    assert len(burst.accepted) == len(bodies)
