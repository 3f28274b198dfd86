"""Drill 1 (sending): Pub/Sub cut off from `ingest` in the middle of a 10,000-event burst.

The burst is sent by the `ingest_outage` fixture (conftest.py); the events land while the
hostile-input drill runs, and test_1_ingest_outage_landed.py checks
the invariant: every event answered 2xx is in BigQuery exactly once (deduplicating views),
the events answered 503 were accepted on DT's retry, nothing is lost.
"""

from __future__ import annotations

import pytest

from tests.drills.conftest import INGEST_OUTAGE_EVENTS, IngestOutage


@pytest.mark.drill
def test_a_burst_with_a_pubsub_outage_is_accepted_in_full_on_retry(ingest_outage: IngestOutage):
    bodies, burst = ingest_outage.bodies, ingest_outage.burst
    assert len(bodies) >= INGEST_OUTAGE_EVENTS
    assert burst.server_errors + burst.no_answer > 0, "the outage caused no failure: the drill proved nothing"
    assert burst.retried_events > 0
    assert not burst.refused, f"events refused with 4xx: {list(burst.refused.items())[:5]}"
    assert not burst.given_up, f"{len(burst.given_up)} events never accepted within the time bound"
    assert len(burst.accepted) == len(bodies)
