"""Both routers' row for one message: rows.py (the route function) and the JavaScript transform
(the BigQuery subscription), in comparable form (TIMESTAMP columns as integer microseconds)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from functions import catalogue, envelope, rows, timestamps
from functions.errors import InvalidBody
from local.transform_runner import Call, Outcome

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
