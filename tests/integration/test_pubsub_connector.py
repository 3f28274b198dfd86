"""DT's Pub/Sub connector (GOOGLE_CLOUD_PUBSUB), through the real emulators: events published
straight to the events topic, with no ingest function and no attributes, in both shapes DT may
use (the HTTP_PUSH body and the bare inner event), land exactly once in their typed views;
anything else is dead-lettered with its reason."""

from __future__ import annotations

import json
import uuid

import pytest

from dt_bigquery_ops.dead_letters import reason as dead_letter_reason
from functions import catalogue, envelope
from functions.errors import InvalidBody
from local.dt_signing import new_xid
from local.fleet.pubsub import PubSubSender, message_data
from local.reading import pull_and_ack
from tests.support.bigquery import wait_for_rows
from tests.support.dt import example_body

# A few types with different data shapes: samples, a nested list, no `data.<type>` key.
TABLES = ["temperature", "network_status", "labels_changed", "desk_occupancy"]


def fresh(table: str) -> dict:
    """The example body of `table` with a new event id (the session's pipeline is shared)."""
    document = json.loads(example_body(table))
    document["event"]["eventId"] = new_xid()
    return document


def publish(pipeline, data: bytes) -> None:
    """As DT's connector would: data only, no attributes."""
    pipeline.publisher.publish(pipeline.topic_path, data).result(timeout=30)


def view_rows(pipeline, table: str, event_ids: list[str], expected: int) -> list[dict]:
    ids = ", ".join(f"'{event_id}'" for event_id in event_ids)
    return wait_for_rows(pipeline, f"SELECT * FROM {{dataset}}.{table} WHERE event_id IN ({ids})", expected)


@pytest.mark.parametrize("table", TABLES)
def test_both_shapes_published_straight_to_the_topic_land_once_in_their_typed_view(pipeline, table):
    push, bare = fresh(table), fresh(table)
    push_data = json.dumps(push, separators=(",", ":")).encode()
    bare_data = message_data(json.dumps(bare, separators=(",", ":")).encode(), "event")
    assert json.loads(bare_data) == bare["event"]
    for data in (push_data, bare_data, push_data, bare_data):  # DT delivers at least once
        publish(pipeline, data)

    ids = [push["event"]["eventId"], bare["event"]["eventId"]]
    in_ids = ", ".join(f"'{event_id}'" for event_id in ids)
    log = wait_for_rows(
        pipeline, f"SELECT event_id FROM {{dataset}}.events_log WHERE event_id IN ({in_ids})", 4
    )
    assert len(log) >= 4, "each delivery is logged"
    rows = {row["event_id"]: row for row in view_rows(pipeline, table, ids, 2)}
    assert sorted(rows) == sorted(ids) and len(view_rows(pipeline, table, ids, 2)) == 2, (
        "once each in the view"
    )

    event_type = push["event"]["eventType"]
    assert catalogue.table_for(event_type).name == table
    for document, row in ((push, rows[ids[0]]), (bare, rows[ids[1]])):
        event = document["event"]
        project, device = event["targetName"].split("/")[1::2]
        assert (row["event_type"], row["project_id"], row["device_id"]) == (event_type, project, device)
        assert row["source"] is None, "DT's connector sets no source attribute"
        data = event["data"].get(event_type, event["data"])
        first = next(iter(data))
        assert row[catalogue.to_snake_case(first)] is not None, f"{first} was not mapped from {data}"
    # Only the HTTP_PUSH shape carries labels and metadata; the raw column keeps what was published.
    assert rows[ids[0]]["device_name"] == push["labels"]["name"]
    assert rows[ids[0]]["device_type"] == push["metadata"]["deviceType"]
    assert rows[ids[0]]["raw"] == push
    assert rows[ids[1]]["device_name"] is None and rows[ids[1]]["device_type"] is None
    assert rows[ids[1]]["raw"] == bare["event"]


@pytest.fixture
def dead_letter_copy(pipeline):
    """A subscription of our own on the dead-letter topic: sees every dead letter from now on,
    without taking any from other tests."""
    path = f"projects/{pipeline.settings.project}/subscriptions/pubsub-connector-test-{uuid.uuid4().hex[:8]}"
    pipeline.subscriber.create_subscription(name=path, topic=pipeline.dead_letter_topic_path)
    yield path
    pipeline.subscriber.delete_subscription(subscription=path)


def test_malformed_messages_are_dead_lettered_with_their_reason(pipeline, dead_letter_copy):
    no_timestamp = fresh("temperature")["event"]
    del no_timestamp["timestamp"]
    wrong_target = fresh("touch")
    wrong_target["event"]["targetName"] = "devices/x"
    malformed = {
        json.dumps(no_timestamp).encode(): "timestamp is missing",
        json.dumps(wrong_target).encode(): "event.targetName",
        b'{"hello": "world"}': "not a bare DT event either",
        b"\xff\xfe{}": "not valid UTF-8",
    }
    for data in malformed:
        publish(pipeline, data)

    letters = {
        letter.data: letter
        for letter in pull_and_ack(pipeline.subscriber, dead_letter_copy, len(malformed), timeout=60)
    }
    for data, words in malformed.items():
        assert data in letters, f"{data[:60]!r} was not dead-lettered"
        reason = dead_letter_reason(letters[data].attributes)
        assert "not a DT event" in reason and words in reason, reason


def test_the_fleet_publishes_as_the_pubsub_connector_and_every_event_lands(pipeline):
    """`./run fleet --via pubsub`'s publisher: both shapes alternately, every accepted event lands."""
    from datetime import UTC, datetime, timedelta

    from local.fleet import make_devices, plan

    devices = [
        d
        for d in make_devices(1, "pubsubfleetproject01", seed=3)
        if d.device_type in ("temperature", "touch")
    ]
    events = plan(devices, 4, timedelta(hours=2), datetime.now(UTC))
    report = PubSubSender(pipeline.topic_path).send_all(events)
    assert not report.refused and report.accepted_ids
    ids = ", ".join(f"'{event_id}'" for event_id in report.accepted_ids)
    rows = wait_for_rows(
        pipeline,
        f"SELECT event_id FROM {{dataset}}.events WHERE event_id IN ({ids})",
        len(report.accepted_ids),
    )
    assert sorted(row["event_id"] for row in rows) == sorted(report.accepted_ids)


# --- the decoding alone (no emulator) ---------------------------------------------------------


def test_parse_takes_a_bare_event_as_the_inner_event_of_an_http_push_body():
    push = fresh("temperature")
    bare = envelope.parse(json.dumps(push["event"]).encode())
    wrapped = envelope.parse(json.dumps(push).encode())
    assert (bare.shape, wrapped.shape) == ("event", "push")
    for field in ("event_id", "event_type", "project_id", "device_id", "timestamp", "data"):
        assert getattr(bare, field) == getattr(wrapped, field), field
    assert bare.document == {"event": push["event"]}
    assert (bare.labels, bare.metadata) == ({}, None)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"labels": {}}, "event is missing"),
        ({"eventId": "cv7v21v50v8ofk2fugj0"}, "eventType is missing"),
        ({"eventId": "x", "eventType": "touch", "targetName": "devices/d"}, "targetName is missing or not"),
        ({"event": {"eventId": "x"}, "eventType": "touch"}, "event.eventType"),
    ],
)
def test_parse_names_what_is_wrong_in_either_shape(document, words):
    with pytest.raises(InvalidBody) as error:
        envelope.parse(json.dumps(document).encode())
    assert words in error.value.message
