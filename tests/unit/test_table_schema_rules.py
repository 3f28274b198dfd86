"""use_table_schema's rules as the BigQuery subscription stand-in applies them (local/bigquery_subscription.py),
and the UDF's rows pass them."""

from __future__ import annotations

import json

import pytest

from functions import catalogue
from functions.publishing import MAX_ATTRIBUTE_VALUE_BYTES, cut_utf8
from local.bigquery_subscription import Refused, table_row
from local.transform_runner import TransformRunner
from tests.support.paths import EVENT_EXAMPLES
from tests.support.transform_parity import call

FIELDS = catalogue.landing_fields()


@pytest.fixture(scope="module")
def udf_rows() -> dict[str, dict]:
    paths = sorted(EVENT_EXAMPLES.glob("*.json"))
    with TransformRunner() as udf:
        outcomes = udf.run([call(path.read_bytes().strip(), {"source": "webhook"}) for path in paths])
    return {path.stem: json.loads(outcome.data or "") for path, outcome in zip(paths, outcomes, strict=True)}


def test_every_row_the_udf_writes_for_the_examples_fits_the_landing_table(udf_rows):
    for table, row in udf_rows.items():
        written = table_row(row, FIELDS)
        assert written["timestamp"].endswith("Z") and table in written, table
        json.loads(written["raw"])  # JSON columns stay strings holding JSON


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bogus": 1}, "the field bogus, which the table lacks"),
        ({"temperature": {"value": 1.0, "probe": 2}}, "the field temperature.probe, which the table lacks"),
        ({"event_id": None}, "the REQUIRED column event_id is missing"),
        ({"device_type": 5}, "device_type does not fit its type STRING"),
        ({"co2": {"ppm": 1.5}}, "co2.ppm does not fit its type INTEGER"),
        ({"co2": {"ppm": 2**63}}, "co2.ppm does not fit its type INTEGER"),
        (
            {"temperature": {"is_backfilled": "yes"}},
            "temperature.is_backfilled does not fit its type BOOLEAN",
        ),
        ({"labels": {"name": "x"}}, "labels does not fit its type JSON"),
        ({"labels": "{not json"}, "the JSON column labels does not hold valid JSON"),
        ({"timestamp": 1.5}, "timestamp is not a TIMESTAMP"),
        ({"timestamp": "yesterday"}, "timestamp is not a TIMESTAMP"),
        ({"timestamp": 10**20}, "timestamp is not a TIMESTAMP"),
        ({"unfit_columns": "temperature.value"}, "unfit_columns is not an array"),
    ],
)
def test_a_message_that_does_not_fit_the_table_is_refused_with_the_reason(udf_rows, change, reason):
    row = udf_rows["temperature"] | change  # a REQUIRED column given as null counts as missing
    with pytest.raises(Refused, match=reason.replace(".", r"\.")):
        table_row(row, FIELDS)


def test_timestamps_are_taken_as_integer_micros_or_a_timestamp_string(udf_rows):
    row = udf_rows["temperature"] | {
        "timestamp": -62135596800000000,
        "published_at": "2024-01-01T00:00:00+01:00",
    }
    written = table_row(row, FIELDS)
    assert written["timestamp"] == "0001-01-01T00:00:00.000000Z"
    assert written["published_at"] == "2023-12-31T23:00:00.000000Z"


def test_a_dead_letter_reason_is_cut_to_pubsubs_1024_bytes_not_characters():
    cut = cut_utf8("é" * 2000, MAX_ATTRIBUTE_VALUE_BYTES)
    assert len(cut.encode()) <= 1024 and cut == "é" * 512
