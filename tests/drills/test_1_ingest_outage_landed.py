"""Drill 1 (landing): every event of the burst answered 2xx is in BigQuery exactly once."""

from __future__ import annotations

import time

import pytest

from tests.drills.conftest import INGEST_OUTAGE_PROJECT as PROJECT
from tests.drills.conftest import IngestOutage
from tests.support.drills import count_in_bigquery, drain_dead_letters, summary, wait_for_events


@pytest.mark.drill
@pytest.mark.timeout(1200)  # run alone, this includes sending the 10,000-event burst
def test_every_accepted_event_of_the_burst_is_in_bigquery_exactly_once(
    drill, ingest_outage: IngestOutage, record_property
):
    """Run alone, this sends drill 1's burst itself (the `ingest_outage` fixture)."""
    pipeline = drill.pipeline
    bodies, burst, sent_at = ingest_outage.bodies, ingest_outage.burst, ingest_outage.sent_at
    wait_for_events(pipeline, PROJECT, len(burst.accepted), stall=120)
    landing = time.monotonic() - sent_at
    time.sleep(2)  # a late redelivered duplicate would show now
    rows, distinct = count_in_bigquery(pipeline, PROJECT)
    landed = {row["event_id"] for row in pipeline.query(
        f"SELECT event_id FROM {{dataset}}.events WHERE project_id = '{PROJECT}'"
    )}  # fmt: skip
    letters = drain_dead_letters(pipeline)
    drill.dead_letters += letters
    dead = len({letter.attributes.get("eventId") for letter in letters} & burst.accepted)
    lost = len(burst.accepted - landed) + len(burst.given_up) + len(burst.refused)
    summary(
        record_property,
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
        all_landed_s_after_send=round(landing, 1),
    )
    assert landed == burst.accepted
    assert rows == distinct == len(burst.accepted), "an event is in the views more than once"
    assert dead == 0 and lost == 0
