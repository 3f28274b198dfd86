"""Values that would crash a router or be refused by BigQuery become NULL in their column (kept in
raw, named in unfit_columns) or a refusal with its reason: never an exception of another kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dt_bigquery_ops.backfill import Backfill, BackfillRequest
from dt_bigquery_ops.dt_api import Page
from dt_bigquery_ops.output import Progress
from functions import catalogue, envelope, rows, timestamps
from functions.errors import InvalidBody
from tests.support.paths import EVENT_EXAMPLES


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-01:00",  # past year 9999 once the offset is applied (was OverflowError)
        "0001-01-01T00:00:00+00:01",  # before year 1
        "2024-01-01T00:00:00+24:00",  # offset hours beyond 23
        "2024-01-01T00:00:00+01:60",  # offset minutes beyond 59
        "2024-01-01T00:00:00+99:99",
        "2024-01-01T00:00:00Z\n",  # $ would have accepted the trailing newline
        "٢٠٢٤-01-01T00:00:00Z",  # digits of another script (\d matches them)
    ],
)
def test_a_timestamp_outside_rfc3339_or_bigquerys_range_is_a_value_error(text):
    with pytest.raises(ValueError):
        timestamps.parse(text)


def test_the_extreme_timestamps_bigquery_holds_are_kept_and_written_with_four_digit_years():
    first, last = timestamps.parse("0001-01-01T00:00:00Z"), timestamps.parse("9999-12-31T23:59:59.999999Z")
    assert timestamps.to_rfc3339(first) == "0001-01-01T00:00:00.000000Z"
    assert timestamps.to_micros(first) == -62135596800000000
    assert timestamps.to_micros(last) == 253402300799999999
    assert timestamps.parse("9999-12-31T23:59:59.999999+23:59") == datetime(
        9999, 12, 31, 0, 0, 59, 999999, UTC
    )


def body(**event_fields: object) -> bytes:
    document = json.loads((EVENT_EXAMPLES / "temperature.json").read_text())
    document["event"].update(event_fields)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (body(timestamp="9999-12-31T23:59:59-01:00"), "event.timestamp is missing or not an RFC 3339"),
        (body(eventType="touch\n"), "event.eventType is malformed"),
        (body(eventId="abc\n"), "event.eventId is malformed"),
        (body(targetName="projects/p/devices/d\n"), "event.targetName is missing"),
        (b'{"event": {"value": 1e400}}', "beyond what a 64-bit float holds"),
        (b'{"event": {"value": -' + b"9" * 400 + b"}}", "beyond what a 64-bit float holds"),
        (b"[" * 501 + b"]" * 501, "nested too deeply"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),  # beyond Python's recursion limit as well
        (b'{"a": 1, "a": 2}', 'the key "a" more than once'),
    ],
)
def test_the_envelope_refuses_with_the_reason(data, reason):
    with pytest.raises(InvalidBody, match=reason.replace("(", r"\(")):
        envelope.parse(data)


def test_500_levels_of_nesting_are_accepted_and_brackets_in_strings_do_not_count():
    nested = (
        b'{"event": {"eventId": "a"}, "deep": ' + b"[" * 498 + b"]" * 498 + b', "s": "' + b"[" * 900 + b'"}'
    )
    with pytest.raises(InvalidBody, match="eventType is missing"):  # parsed, refused for what it lacks
        envelope.parse(nested)


def row_of(data: dict, table: str = "temperature") -> dict:
    document = json.loads((EVENT_EXAMPLES / f"{table}.json").read_text())
    event_type = document["event"]["eventType"]
    document["event"]["data"][event_type].update(data)
    raw = json.dumps(document).encode()
    event = envelope.parse(raw)
    return rows.build(catalogue.table_for(event_type), event, raw, None, "1", None, datetime.now(UTC))


@pytest.mark.parametrize(
    ("table", "data", "column", "unfit"),
    [
        ("co2", {"ppm": 2**63}, "ppm", "co2.ppm"),
        ("co2", {"ppm": -(2**63) - 1}, "ppm", "co2.ppm"),
        ("co2", {"ppm": 1e20}, "ppm", "co2.ppm"),
        ("co2", {"ppm": "400"}, "ppm", "co2.ppm"),
        (
            "temperature",
            {"updateTime": "9999-12-31T23:59:59-01:00"},
            "update_time",
            "temperature.update_time",
        ),
        ("temperature", {"value": "hot"}, "value", "temperature.value"),
    ],
)
def test_a_value_that_does_not_fit_is_null_kept_in_raw_and_counted_by_its_column(table, data, column, unfit):
    row = row_of(data, table)
    assert row[table][column] is None
    assert row["unfit_columns"] == [unfit]
    key = next(iter(data))
    assert key in row["raw"]


def test_items_of_a_repeated_record_that_do_not_fit_are_dropped_and_counted_once():
    row = row_of({"samples": [{"value": 1.5, "sampleTime": "nope"}, 7, {"value": "x", "sampleTime": "nope"}]})
    assert row["temperature"]["samples"] == [
        {"value": 1.5, "sample_time": None},
        {"value": None, "sample_time": None},
    ]
    assert row["unfit_columns"] == [
        "temperature.samples.sample_time",
        "temperature.samples",
        "temperature.samples.value",
    ]


def test_int64_bounds_are_kept():
    assert row_of({"ppm": 2**63 - 1}, "co2")["co2"]["ppm"] == 2**63 - 1
    assert row_of({"ppm": -(2**63)}, "co2")["co2"]["ppm"] == -(2**63)
    assert row_of({"ppm": 400.0}, "co2")["unfit_columns"] == []


class HostileApi:
    """A DT API whose one device has a page of events, some of them hostile."""

    def __init__(self, events: list[dict]) -> None:
        self.events = events

    def list_devices(self, project: str) -> list[dict]:
        return [{"name": f"projects/{project}/devices/dev1", "type": "temperature", "labels": {"name": "x"}}]

    def event_page(self, *args: object, **kwargs: object) -> Page:
        return Page(self.events, "")


class Published:
    def __init__(self) -> None:
        self.messages: list = []

    def publish_all(self, messages: list) -> None:
        self.messages.extend(messages)


def test_backfill_skips_events_with_values_that_cannot_be_kept_and_publishes_the_rest(tmp_path: Path):
    good = json.loads((EVENT_EXAMPLES / "temperature.json").read_text())["event"]
    good["targetName"] = "projects/proj1/devices/dev1"
    hostile = [
        good | {"eventId": "overflow", "timestamp": "9999-12-31T23:59:59-01:00"},  # was an OverflowError
        good | {"eventId": "infinity", "data": {"temperature": {"value": float("inf")}}},  # DT sent 1e400
        good
        | {"eventId": "surrogate", "data": {"temperature": {"value": "\ud800"}}},  # was a UnicodeEncodeError
        good | {"eventId": "deep", "data": {"temperature": {"x": json.loads("[" * 600 + "]" * 600)}}},
        good | {"eventId": "newline\n"},
    ]
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    request = BackfillRequest("proj1", "1y", None, start, end, state_path=tmp_path / "state.json")
    publisher = Published()
    backfill = Backfill(HostileApi([*hostile, good]), request, publisher, Progress(enabled=False))  # type: ignore[arg-type]
    assert backfill.run(), backfill.error
    assert [json.loads(body)["event"]["eventId"] for body, _ in publisher.messages] == [good["eventId"]]
    assert backfill.state.devices["dev1"].invalid == len(hostile)
