"""Both routers' row for one message: rows.py (the route function) and the JavaScript transform
(the BigQuery subscription), in comparable form (TIMESTAMP columns as integer microseconds)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from functions import catalogue, envelope, rows, timestamps
from functions.errors import InvalidBody
from local.transform_runner import Call, Outcome
from tests.support.paths import EVENT_EXAMPLES

NOW = datetime(2026, 5, 4, 3, 2, 1, 123000, tzinfo=UTC)  # ingested_at, the same for both
NOW_MS = int(NOW.timestamp() * 1000)
MESSAGE_ID = "17171717171717"
PUBLISH_TIME = "2026-05-04T03:02:00Z"  # as the SMT metadata gives it (to the second)
NOT_JSON = "the body is not JSON"
POISON = "not a DT event: "  # the parsers' own words follow; only this much must agree


def _micros(value: Any, field: dict[str, Any]) -> Any:
    """`value` of `field` in a Python row with its TIMESTAMPs as micros (as the UDF writes them)."""
    if value is None:
        return None
    if field.get("mode") == "REPEATED":
        return [_micros(item, {**field, "mode": "NULLABLE"}) for item in value]
    if field["type"] == "RECORD":
        return {
            sub["name"]: _micros(value.get(sub["name"]), sub)
            for sub in field["fields"]
            if sub["name"] in value
        }
    if field["type"] == "TIMESTAMP":
        return timestamps.to_micros(timestamps.parse(value))
    return value


def python_row(data: bytes, attributes: dict[str, str]) -> tuple[str, Any]:
    """("row", the row as the route function writes it) or ("refused", the reason)."""
    try:
        event = envelope.parse(data)
    except InvalidBody as error:
        return "refused", error.message
    row = rows.build(catalogue.table_for(event.event_type), event, data, attributes.get("source"),
                     MESSAGE_ID, PUBLISH_TIME, NOW)  # fmt: skip
    fields = {field["name"]: field for field in catalogue.landing_fields()}
    return "row", {name: _micros(value, fields[name]) for name, value in row.items()}


def call(data: bytes, attributes: dict[str, str]) -> Call:
    return Call(
        data.decode("utf-8"), attributes, {"message_id": MESSAGE_ID, "publish_time": PUBLISH_TIME}, NOW_MS
    )


def udf_row(outcome: Outcome) -> tuple[str, Any]:
    if outcome.error is not None:
        # the route function's words for a dead letter, with envelope.parse's reason
        assert outcome.error.startswith(POISON), outcome.error
        return "refused", outcome.error.removeprefix(POISON)
    assert outcome.data is not None, outcome
    return "row", json.loads(outcome.data)


def comparable(result: tuple[str, Any]) -> tuple[str, Any]:
    kind, value = result
    if kind == "refused" and value.startswith(NOT_JSON):
        return kind, NOT_JSON
    return result


# Values a router must survive: each lands NULL in its column (named in unfit_columns) or is refused.
HOSTILE = {
    "offset past year 9999": {"event": {"timestamp": "9999-12-31T23:59:59-01:00"}},
    "offset before year 1": {"event": {"timestamp": "0001-01-01T00:00:00+00:01"}},
    "offset hours 24": {"event": {"timestamp": "2024-01-01T00:00:00+24:00"}},
    "offset minutes 60": {"event": {"timestamp": "2024-01-01T00:00:00+01:60"}},
    "trailing newline in a timestamp": {"event": {"timestamp": "2024-01-01T00:00:00Z\n"}},
    "trailing newline in eventType": {"event": {"eventType": "touch\n"}},
    "trailing newline in eventId": {"event": {"eventId": "abc\n"}},
    "trailing newline in targetName": {"event": {"targetName": "projects/p/devices/d\n"}},
    "non-ASCII digits": {"event": {"timestamp": "٢٠٢٤-01-01T00:00:00Z"}},
    "updateTime past 9999": {"data": {"updateTime": "9999-12-31T23:59:59-23:59"}},
    "updateTime year 1": {"data": {"updateTime": "0001-01-01T00:00:00.000001Z"}},
    "updateTime nanoseconds": {"data": {"updateTime": "2024-02-29T23:59:59.999999999+05:30"}},
    "updateTime 29 February 2023": {"data": {"updateTime": "2023-02-29T00:00:00Z"}},
    "updateTime a number": {"data": {"updateTime": 1700000000}},
    "value beyond INT64": {"data": {"value": 2**64}},
    "value beyond 2^53": {"data": {"value": 2**53 + 1}},
    "value 1e20": {"data": {"value": 1e20}},
    "ppm INT64 max": {"table": "co2", "data": {"ppm": 2**63 - 1}},
    "ppm INT64 min": {"table": "co2", "data": {"ppm": -(2**63)}},
    "ppm beyond INT64 max": {"table": "co2", "data": {"ppm": 2**63}},
    "ppm beyond INT64 min": {"table": "co2", "data": {"ppm": -(2**63) - 1}},
    "ppm beyond 2^53": {"table": "co2", "data": {"ppm": 2**53 + 1}},
    "ppm 2^62 as a float": {"table": "co2", "data": {"ppm": float(2**62)}},
    "ppm 2^63 as a float": {"table": "co2", "data": {"ppm": float(2**63)}},
    "ppm -2^63 as a float": {"table": "co2", "data": {"ppm": -float(2**63)}},
    "ppm 400.0": {"table": "co2", "data": {"ppm": 400.0}},
    "ppm 400.5": {"table": "co2", "data": {"ppm": 400.5}},
    "ppm -0.0": {"table": "co2", "data": {"ppm": -0.0}},
    "value a string": {"data": {"value": "hot"}},
    "value true": {"data": {"value": True}},
    "samples not a list": {"data": {"samples": {"value": 1}}},
    "samples with junk items": {"data": {"samples": [1, None, {"value": "x", "sampleTime": "no"}, {}]}},
    "labels name a number": {"labels": {"name": 7, "é": "ü\u2028"}},
    "metadata deviceType an object": {"metadata": {"deviceType": {"a": [1.5, -0.0, 1e16, 1e-5, 2**70]}}},
    "productNumber empty": {"metadata": {"productNumber": ""}},
}


def hostile_body(change: dict[str, Any]) -> bytes:
    document = json.loads((EVENT_EXAMPLES / f"{change.get('table', 'temperature')}.json").read_text())
    event_type = document["event"]["eventType"]
    document["event"].update(change.get("event", {}))
    document["event"]["data"][event_type].update(change.get("data", {}))
    document["labels"].update(change.get("labels", {}))
    document["metadata"].update(change.get("metadata", {}))
    return json.dumps(document).encode()
