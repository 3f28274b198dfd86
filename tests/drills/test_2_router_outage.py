"""Drill 2: BigQuery cut off from `route` while 500 messages flow, poison, and dead-lettering.

Invariant: every message ends in BigQuery exactly once or in the dead-letter topic with a
reason; none is silently dropped. A message that is not a DT event is dead-lettered at once
(by the router, with `deadLetterReason`); one that keeps failing transiently is dead-lettered
by Pub/Sub itself after the subscription's bounded delivery attempts.

Each drill here runs through both routers: the route function (the drills' shared pipeline) and
the BigQuery subscription (a pipeline of its own, the stand-in running the JavaScript transform),
where Pub/Sub retries a message the transform refuses up to the maximum attempts, then
dead-letters it with CloudPubSubDeadLetterSourceDeliveryErrorMessage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from dt_bigquery_ops.dead_letters import reason as dead_letter_reason
from local.bigquery_subscription import DEAD_LETTER_REASON
from local.dt_signing import new_xid
from local.pipeline import ROUTERS, Pipeline
from tests.drills.conftest import SIGNER, drill_settings
from tests.support.drills import count_in_bigquery, drain_dead_letters, route_failures, summary
from tests.support.dt import SECRET, event_id, real_body, with_event
from tests.support.senders import Burst, send_burst

PROJECT = "drillrouteroutage"
MESSAGES = 500
OUTAGE_SECONDS = 8.0
ATTEMPTS = 5  # max_delivery_attempts of the second, small pipeline


def bodies_for(project: str, count: int) -> list[bytes]:
    names = ["temperature.json", "touch.json", "touch__no_metadata_2021.json"]
    return [
        with_event(
            real_body(names[number % 3]),
            eventId=new_xid(),
            targetName=f"projects/{project}/devices/d{number % 7}",
        )
        for number in range(count)
    ]


@pytest.fixture(scope="module", params=ROUTERS)
def router(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def routed(router: str, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    """The drills' shared pipeline (the route function), or one with the BigQuery subscription."""
    if router == "function":
        yield request.getfixturevalue("drill").pipeline
        return
    with Pipeline(drill_settings(SIGNER, router=router)) as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
def exhausted(router: str) -> Iterator[dict]:
    """In the background (it is mostly waiting): a second pipeline whose router never reaches
    BigQuery, and one valid event sent to it, which Pub/Sub must dead-letter after ATTEMPTS."""
    result: dict = {}

    def run() -> None:
        started = time.monotonic()
        settings = drill_settings(SIGNER, max_delivery_attempts=ATTEMPTS, router=router,
                                  extra_route_env={"BIGQUERY_TIMEOUT_SECONDS": "1"})  # fmt: skip
        try:
            with Pipeline(settings) as small:
                small.bigquery_proxy.stop()  # for good
                body = bodies_for("drillexhausted", 1)[0]
                burst = send_burst(small.ingest_url, [body], SECRET, None)
                assert burst.accepted, burst
                letters: list = []
                deadline = time.monotonic() + 140  # the stand-in's writes time out after 10 s
                while not letters and time.monotonic() < deadline:
                    letters = drain_dead_letters(small, 3)
                    time.sleep(1)
                time.sleep(1)
                result.update(
                    router=router,
                    body=body,
                    letters=letters,
                    deliveries=len(route_failures(small)),
                    rows=count_in_bigquery_safe(small),
                    seconds=time.monotonic() - started,
                )
        except BaseException as error:
            result["error"] = error

    def count_in_bigquery_safe(small: Pipeline) -> int:
        small.bigquery_proxy.start()
        return count_in_bigquery(small, "drillexhausted")[0]

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    yield result
    worker.join(timeout=180)


@pytest.mark.drill
def test_bigquery_outage_for_the_router_ends_in_bigquery_or_dead_letters(routed, exhausted, record_property):
    pipeline = routed
    # Older drills' messages must not be in the way: the outage must hit this drill's messages.
    assert pipeline.wait_idle(quiet_seconds=3, timeout=180), "the pipeline never became idle"
    bodies = bodies_for(PROJECT, MESSAGES)
    ids = {event_id(body) for body in bodies}
    failures_before = len(route_failures(pipeline))
    cut, restored = threading.Event(), threading.Event()
    outage_seconds: list[float] = []

    def ours_failed() -> list[dict]:
        return [f for f in route_failures(pipeline)[failures_before:] if f.get("eventId") in ids]

    def outage() -> None:
        """At least OUTAGE_SECONDS, and until some of our messages have failed."""
        cut.wait()
        pipeline.bigquery_proxy.stop()
        started = time.monotonic()
        while time.monotonic() - started < OUTAGE_SECONDS or (
            time.monotonic() - started < 20 and len(ours_failed()) < 20
        ):
            time.sleep(1)
        outage_seconds.append(time.monotonic() - started)
        pipeline.bigquery_proxy.start()
        restored.set()

    def after_each(burst: Burst) -> None:
        if burst.done >= 50:
            cut.set()

    controller = threading.Thread(target=outage, daemon=True)
    controller.start()
    try:
        burst = send_burst(pipeline.ingest_url, bodies, SECRET, SIGNER, 16, 60, after_each)
        controller.join(timeout=60)
    finally:
        if not restored.is_set():
            pipeline.bigquery_proxy.start()
    assert len(burst.accepted) == MESSAGES
    started = time.monotonic()
    dead: set[str] = set()
    landed: set[str] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        dead |= {m.attributes.get("eventId") for m in drain_dead_letters(pipeline, 1)} & ids
        rows, distinct = count_in_bigquery(pipeline, PROJECT)
        if distinct + len(dead) >= MESSAGES:
            break
        time.sleep(2)
    time.sleep(2)
    rows, distinct = count_in_bigquery(pipeline, PROJECT)
    landed = {row["event_id"] for row in pipeline.query(
        f"SELECT event_id FROM {{dataset}}.events WHERE project_id = '{PROJECT}'"
    )}  # fmt: skip
    redelivered = ours_failed()
    lost = len(ids - landed - dead)
    summary(
        record_property,
        "router outage",
        sent=MESSAGES,
        **{"2xx": burst.ok, "5xx": burst.server_errors},
        retried=len(redelivered),
        failed_deliveries_of_any_message=len(route_failures(pipeline)) - failures_before,
        in_BigQuery=distinct,
        dead_lettered=len(dead),
        lost=lost,
        outage_s=round(outage_seconds[0], 1) if outage_seconds else None,
        landed_s_after_send=round(time.monotonic() - started, 1),
    )
    # Only this drill's own failed deliveries count: older messages failing proves nothing here.
    assert redelivered, "none of this drill's deliveries failed while BigQuery was down: it proved nothing"
    assert {f["eventId"] for f in redelivered} <= landed | dead, "a failed delivery was never retried"
    assert lost == 0
    assert not landed & dead, "an event is both in BigQuery and dead-lettered"
    assert rows == distinct == len(landed), "an event is in the views more than once"


@pytest.mark.drill
def test_a_poison_message_is_dead_lettered_at_once_with_its_reason(routed, record_property):
    pipeline = routed
    marker = "drill-poison-" + new_xid()
    started = time.monotonic()
    pipeline.publisher.publish(pipeline.topic_path, b"drill: not a DT event", eventId=marker).result(
        timeout=10
    )
    letters: list = []
    while not letters and time.monotonic() - started < 30:
        letters = [m for m in drain_dead_letters(pipeline, 2) if m.attributes.get("eventId") == marker]
    seconds = time.monotonic() - started
    redelivered = [f for f in route_failures(pipeline) if f.get("eventId") == marker]
    summary(record_property, "poison message", sent=1, dead_lettered=len(letters), retried=len(redelivered),
            lost=1 - len(letters), dead_lettered_after_s=round(seconds, 1))  # fmt: skip
    [letter] = letters
    assert letter.data == b"drill: not a DT event"
    assert "not a DT event" in dead_letter_reason(letter.attributes)
    if pipeline.bigquery_subscription is None:
        assert letter.attributes["originalMessageId"]
        assert not redelivered, "a poison message must not be retried"
    else:  # Pub/Sub retries what the transform refuses (no backoff), then dead-letters it
        attempts = pipeline.settings.max_delivery_attempts
        assert letter.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == str(attempts)
        assert letter.attributes["eventId"] == marker  # the message as published


@pytest.mark.drill
def test_a_message_failing_on_every_delivery_is_dead_lettered_after_bounded_attempts(
    exhausted, record_property
):
    deadline = time.monotonic() + 150
    while not ({"letters", "error"} & exhausted.keys()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if "error" in exhausted:
        raise exhausted["error"]
    letters = exhausted["letters"]
    summary(
        record_property,
        "transient until exhausted",
        sent=1,
        deliveries=exhausted["deliveries"],
        max_delivery_attempts=ATTEMPTS,
        in_BigQuery=exhausted["rows"],
        dead_lettered=len(letters),
        lost=1 - len(letters) - exhausted["rows"],
        seconds=round(exhausted["seconds"], 1),
        source_delivery_count=letters[0].attributes.get("CloudPubSubDeadLetterSourceDeliveryCount")
        if letters
        else None,
    )
    [letter] = letters
    assert letter.data == exhausted["body"]
    assert "deadLetterReason" not in letter.attributes  # dead-lettered by Pub/Sub, not by the router
    if exhausted["router"] == "bigquery_subscription":  # with Pub/Sub's reason: the write failed
        assert letter.attributes[DEAD_LETTER_REASON].startswith("UNAVAILABLE: writing to"), letter.attributes
    assert 1 <= exhausted["deliveries"] <= ATTEMPTS
    assert exhausted["rows"] == 0
