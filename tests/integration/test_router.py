"""End to end: signed webhook → ingest → Pub/Sub push → route → BigQuery, all real servers."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from dt_bigquery_ops.dead_letters import reason as dead_letter_reason
from functions import catalogue, timestamps
from functions.catalogue import to_snake_case
from local.dt_signing import headers_for, new_xid
from local.pipeline import Pipeline, PipelineSettings
from local.reading import pull_and_ack
from local.servers import free_port
from tests.support.bigquery import wait_for_rows
from tests.support.dt import SECRET, example_body, real_body, with_event

TABLES = sorted(table.name for table in catalogue.event_tables().values())


def send(pipeline, body: bytes, **signing: Any) -> None:
    signing = signing or {"secret": SECRET}
    response = requests.post(pipeline.ingest_url, data=body, headers=headers_for(body, **signing), timeout=30)
    assert response.status_code == 200, response.text


def one_row(pipeline, table: str, event_id: str) -> dict[str, Any]:
    [row] = wait_for_rows(pipeline, f"SELECT * FROM {{dataset}}.{table} WHERE event_id = '{event_id}'", 1)
    return row


def expected_column(dt_value: Any, column: Any) -> None:
    """Compare a DT JSON value with what BigQuery returns for its column."""
    if isinstance(dt_value, dict) and isinstance(column, dict):
        for key, value in dt_value.items():
            expected_column(value, column[to_snake_case(key)])
    elif isinstance(dt_value, list):
        assert isinstance(column, list) and len(column) == len(dt_value), (dt_value, column)
        for value, item in zip(dt_value, column, strict=True):
            expected_column(value, item)
    elif isinstance(column, datetime):
        assert column == timestamps.parse(dt_value), (dt_value, column)
    else:
        assert column == dt_value, (dt_value, column)


@pytest.mark.parametrize("table", TABLES)
def test_each_event_type_lands_in_its_typed_table_with_every_field(pipeline, table):
    body = example_body(table)
    document = json.loads(body)
    event_type = document["event"]["eventType"]
    assert catalogue.table_for(event_type).name == table
    send(pipeline, body)
    row = one_row(pipeline, table, document["event"]["eventId"])
    data = document["event"]["data"].get(event_type, document["event"]["data"])  # labelsChanged is not keyed
    assert data, "the example must fill the type's fields"
    for key, value in data.items():
        column = to_snake_case(key)
        assert column in row, f"{table} has no column {column} for DT field {key}"
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            assert row[column] == value  # a JSON map (labelsChanged added/modified)
        else:
            expected_column(value, row[column])
    assert row["device_id"] == document["metadata"]["deviceId"]
    assert row["project_id"] == document["metadata"]["projectId"]
    assert row["device_type"] == document["metadata"]["deviceType"]
    assert row["device_name"] == document["labels"]["name"]
    assert row["device_description"] == document["labels"].get("description")
    assert row["labels"] == document["labels"]
    assert row["raw"] == document
    assert row["timestamp"] == timestamps.parse(document["event"]["timestamp"])
    assert row["source"] == "webhook"
    assert row["published_at"] <= row["ingested_at"]


def test_an_unknown_event_type_is_kept_in_unknown_events(pipeline):
    document = json.loads(real_body("temperature.json"))
    event_id = new_xid()
    document["event"].update(eventId=event_id, eventType="airQuality", data={"airQuality": {"voc": 3.5}})
    send(pipeline, json.dumps(document).encode())
    row = one_row(pipeline, "unknown_events", event_id)
    assert row["event_type"] == "airQuality"
    assert row["data"] == {"airQuality": {"voc": 3.5}}
    assert row["raw"] == document


def test_new_fields_of_a_known_type_are_kept_in_raw(pipeline):
    document = json.loads(real_body("temperature.json"))
    event_id = new_xid()
    document["event"]["eventId"] = event_id
    document["event"]["data"]["temperature"]["probeId"] = "p-7"
    send(pipeline, json.dumps(document).encode())
    row = one_row(pipeline, "temperature", event_id)
    assert row["value"] == 27.0
    assert row["raw"]["event"]["data"]["temperature"]["probeId"] == "p-7"


def test_a_value_of_the_wrong_type_becomes_null_and_stays_in_raw(pipeline):
    document = json.loads(real_body("temperature.json"))
    event_id = new_xid()
    document["event"]["eventId"] = event_id
    document["event"]["data"]["temperature"]["value"] = "hot"
    send(pipeline, json.dumps(document).encode())
    row = one_row(pipeline, "temperature", event_id)
    assert row["value"] is None
    assert row["raw"]["event"]["data"]["temperature"]["value"] == "hot"


def test_a_body_without_metadata_lands_with_null_metadata_columns(pipeline):
    event_id = new_xid()
    send(pipeline, with_event(real_body("touch__no_metadata_2021.json"), eventId=event_id))
    row = one_row(pipeline, "touch", event_id)
    assert row["device_type"] is None and row["product_number"] is None
    assert row["device_id"] == "emuc17m6d7lq0bgk44smcqg"
    assert row["device_name"] == "touch"


def test_the_same_event_three_times_is_one_row_in_what_users_query(pipeline):
    event_id = new_xid()
    body = with_event(real_body("touch.json"), eventId=event_id)
    for _ in range(3):
        send(pipeline, body)
    # Real BigQuery may drop repeats by insertId (best effort), the emulator keeps them: wait for
    # up to 3 log rows, then assert what holds on both.
    log = wait_for_rows(
        pipeline, f"SELECT * FROM {{dataset}}.events_log WHERE event_id = '{event_id}'", 3, 20
    )
    assert len(log) >= 1
    assert len(pipeline.query(f"SELECT * FROM {{dataset}}.touch WHERE event_id = '{event_id}'")) == 1
    assert len(pipeline.query(f"SELECT * FROM {{dataset}}.events WHERE event_id = '{event_id}'")) == 1


def test_an_asymmetrically_signed_event_lands(pipeline, signer):
    event_id = new_xid()
    send(pipeline, with_event(real_body("touch.json"), eventId=event_id), signer=signer)
    assert one_row(pipeline, "touch", event_id)["event_id"] == event_id


def dead_letter_of(pipeline, event_id: str, timeout: float = 30):
    """The dead letter whose eventId attribute is `event_id` (others, left by other tests of the
    shared pipeline, are acknowledged and passed over); None when none came within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in pull_and_ack(pipeline.subscriber, pipeline.dead_letter_subscription_path, timeout=5):
            if message.attributes.get("eventId") == event_id:
                return message
    return None


def test_a_poison_message_goes_to_the_dead_letter_topic_with_its_reason(pipeline):
    pipeline.publisher.publish(pipeline.topic_path, b"this is not a DT event", eventId="poison").result(
        timeout=10
    )
    letter = dead_letter_of(pipeline, "poison")
    assert letter is not None, "the poison message was not dead-lettered"
    assert letter.data == b"this is not a DT event"
    assert "not a DT event" in dead_letter_reason(letter.attributes)
    assert letter.attributes["eventId"] == "poison"  # the attributes it was published with are kept


@pytest.mark.function_router
@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"<html>", "the body is not JSON"), (b'{"message": {"data": "%%%"}}', "message.data is not base64")],
)
def test_route_answers_a_request_that_is_no_push_envelope_400_with_its_reason(pipeline, body, reason):
    """The served function, as Pub/Sub's push reaches it (any path, POST)."""
    answer = requests.post(f"{pipeline.route.url}/{pipeline.topic_path}", data=body, timeout=30)
    assert answer.status_code == 400
    assert answer.text == f"not a Pub/Sub push request: {reason}"


def test_views_answer_the_common_questions(pipeline):
    device = "viewcheckdevice00001"
    base = json.loads(real_body("temperature.json"))
    # Within the last 35 days: device_last_seen and temperature_* read no older events.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    for minute, celsius in ((0, 20.0), (10, 22.0), (70, 30.0)):
        document = json.loads(json.dumps(base))
        moment = timestamps.to_rfc3339(start + timedelta(minutes=minute))
        data = {
            "value": celsius,
            "updateTime": moment,
            "samples": [{"value": celsius, "sampleTime": moment}],
            "isBackfilled": False,
        }
        document["event"].update(
            eventId=new_xid(),
            timestamp=moment,
            targetName=f"projects/p/devices/{device}",
            data={"temperature": data},
        )
        send(pipeline, json.dumps(document).encode())
    wait_for_rows(pipeline, f"SELECT * FROM {{dataset}}.temperature WHERE device_id = '{device}'", 3)
    [latest] = pipeline.query(f"SELECT * FROM {{dataset}}.temperature_latest WHERE device_id = '{device}'")
    assert latest["celsius"] == 30.0
    hourly = pipeline.query(
        f"SELECT * FROM {{dataset}}.temperature_hourly WHERE device_id = '{device}' ORDER BY hour"
    )
    assert [(h["avg_celsius"], h["samples"]) for h in hourly] == [(21.0, 2), (30.0, 1)]
    [seen] = pipeline.query(f"SELECT * FROM {{dataset}}.device_last_seen WHERE device_id = '{device}'")
    assert seen["last_seen"] == start + timedelta(minutes=70) and seen["events"] == 3
    assert seen["silent_minutes"] > 60


def test_bigquery_down_means_redelivery_then_the_row_with_nothing_lost(pipeline):
    """BigQuery unreachable for the router (its connection cut, as in an outage), then back."""
    event_ids = [new_xid() for _ in range(5)]
    pipeline.bigquery_proxy.stop()
    try:
        for event_id in event_ids:
            send(pipeline, with_event(real_body("touch.json"), eventId=event_id))
        time.sleep(8)  # deliveries fail (3 s deadline) and are retried while BigQuery is down
    finally:
        pipeline.bigquery_proxy.start()
    ids = ", ".join(f"'{event_id}'" for event_id in event_ids)
    rows = wait_for_rows(
        pipeline, f"SELECT event_id FROM {{dataset}}.touch WHERE event_id IN ({ids})", 5, timeout=90
    )
    assert sorted(row["event_id"] for row in rows) == sorted(event_ids)
    if pipeline.bigquery_subscription is not None:
        assert pipeline.bigquery_subscription.failed, "no delivery failed while BigQuery was down"
        return
    route_log = (pipeline.work_dir / "logs" / "route.log").read_text()
    failures = [json.loads(line) for line in route_log.splitlines() if "Pub/Sub will redeliver" in line]
    assert {failure["eventId"] for failure in failures} & set(event_ids), (
        "no delivery failed while BigQuery was down"
    )


@pytest.mark.function_router
def test_the_emulators_own_push_subscription_feeds_route_as_well():
    """The local pipeline relays pushes itself (local/push_relay.py); the emulator's native push works too."""
    settings = PipelineSettings(
        ingest_port=free_port(), route_port=free_port(), pubsub_port=free_port(),
        bigquery_port=free_port(), bigquery_grpc_port=free_port(), signature_secret=SECRET, delivery="emulator",
    )  # fmt: skip
    with Pipeline(settings) as native:
        subscription = native.subscriber.get_subscription(subscription=native.push_subscription_path)
        assert subscription.push_config.push_endpoint == native.route_push_endpoint
        event_ids = [new_xid() for _ in range(3)]
        for event_id in event_ids:
            send(native, with_event(real_body("temperature.json"), eventId=event_id))
        ids = ", ".join(f"'{event_id}'" for event_id in event_ids)
        rows = wait_for_rows(
            native, f"SELECT event_id FROM {{dataset}}.temperature WHERE event_id IN ({ids})", 3
        )
        assert sorted(row["event_id"] for row in rows) == sorted(event_ids)
