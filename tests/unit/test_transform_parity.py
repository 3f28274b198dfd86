"""The JavaScript transform (the exact file Terraform deploys, run in Node) builds the same row as
rows.py, or refuses the same message with the same reason: on every DT body in tests/data and on
generated ones (odd types, missing fields, nanosecond and out-of-range timestamps, huge numbers,
non-ASCII, both message shapes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.fleet.pubsub import message_data
from local.transform_runner import TransformRunner
from tests.support.paths import DT_DATA, EVENT_EXAMPLES
from tests.support.transform_parity import HOSTILE, call, comparable, hostile_body, python_row, udf_row

FIXTURES = sorted(
    [*EVENT_EXAMPLES.glob("*.json"), *(DT_DATA / "real-bodies").glob("*.json"),
     *(DT_DATA / "signature-vectors").glob("*.body")]
)  # fmt: skip


@pytest.fixture(scope="module")
def udf() -> Iterator[TransformRunner]:
    with TransformRunner() as runner:
        yield runner


def both(udf: TransformRunner, data: bytes, attributes: dict[str, str] | None = None) -> tuple[Any, Any]:
    attributes = attributes or {}
    [outcome] = udf.run([call(data, attributes)])
    return comparable(python_row(data, attributes)), comparable(udf_row(outcome))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: f"{path.parent.name}/{path.name}")
@pytest.mark.parametrize("shape", ["push", "event"])
def test_every_dt_body_in_tests_data_gives_the_same_row(udf, path, shape):
    data = message_data(path.read_bytes().strip(), shape)
    python, javascript = both(udf, data, {"source": "webhook"})
    assert python[0] == "row", python
    assert javascript == python


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_values_give_the_same_row_or_the_same_refusal(udf, name):
    python, javascript = both(udf, hostile_body(HOSTILE[name]))
    assert javascript == python


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1e400}', '{"a": -1e400}', '{"a": ' + "9" * 400 + "}", '{"a": NaN}', '{"a": -Infinity}',
        '{"a": 1, "a": 2}', '{"event": {"x": {"k": 1, "k": 2}}}', "[" * 501 + "]" * 501,
        '["' + "[" * 600 + '"]', "", " ", "[1,]", '{"a":1,}', "01", '"\\ud800"', "\ufeff{}", '{"a":"\u0001"}',
        "{\"event\": {}}", '{"eventId": 5}', '{"event": {"eventId": "a", "eventType": "t"}, "labels": []}',
    ],
)  # fmt: skip
def test_malformed_bodies_are_refused_with_the_same_reason(udf, text):
    python, javascript = both(udf, text.encode())
    assert python[0] == "refused"
    assert javascript == python


# Generated events: a real body, its fields replaced by values of any JSON type.
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 0, -1]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456789Z", "9999-12-31T23:59:59.999999Z",
                     "9999-12-31T23:00:00-01:00", "0001-01-01T00:00:00Z", "2024-13-01T00:00:00Z", "ünï", "€"]),
)  # fmt: skip
TIMESTAMPS = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.sampled_from("Tt "), st.integers(0, 25),
    st.integers(0, 61), st.integers(0, 61), st.sampled_from(["", ".1", ".123456", ".123456789", ".1234567891"]),
    st.one_of(st.sampled_from(["Z", "z", "", "Z\n"]),
              st.builds("{}{:02d}:{:02d}".format, st.sampled_from("+-"), st.integers(0, 25), st.integers(0, 61))),
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.one_of(JSON_SCALARS, TIMESTAMPS),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
TABLES = sorted(path.stem for path in EVENT_EXAMPLES.glob("*.json"))


@st.composite
def generated_bodies(draw: st.DrawFn) -> bytes:
    document = json.loads((EVENT_EXAMPLES / f"{draw(st.sampled_from(TABLES))}.json").read_text())
    event = document["event"]
    data = event["data"]
    typed = data.get(event["eventType"], data)
    for key in list(typed):
        action = draw(st.sampled_from(["keep", "keep", "replace", "timestamp", "drop"]))
        if action == "replace":
            typed[key] = draw(JSON_VALUES)
        elif action == "timestamp":
            typed[key] = draw(TIMESTAMPS)
        elif action == "drop":
            del typed[key]
    for key in draw(
        st.lists(st.sampled_from(["eventType", "timestamp", "labels", "metadata", "extra"]), max_size=2)
    ):
        if key == "eventType":
            event[key] = draw(
                st.sampled_from(["airQuality", "constructor", "toString", "__proto__", "touch", "co2"])
            )
        elif key == "timestamp":
            event[key] = draw(TIMESTAMPS)
        elif key == "extra":
            typed[draw(st.text(max_size=5))] = draw(JSON_VALUES)
        else:
            document[key] = draw(st.one_of(JSON_VALUES, st.dictionaries(st.text(max_size=5), JSON_VALUES)))
    shape = draw(st.sampled_from(["push", "event"]))
    indent = draw(st.sampled_from([None, None, 1, "\t", " \r\n"]))  # whitespace JSON allows
    text = json.dumps(document if shape == "push" else event, ensure_ascii=draw(st.booleans()), indent=indent)
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=generated_bodies(), source=st.one_of(st.none(), st.sampled_from(["webhook", "backfill", "ünï"])))
def test_generated_events_give_the_same_row_or_the_same_refusal(udf, data, source):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # a lone surrogate written raw: the stand-in refuses it before the UDF
        return
    python, javascript = both(udf, data, {} if source is None else {"source": source})
    assert javascript == python


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40), st.text(alphabet='{}[]":,0123456789.eE+-tfnrulasNIy \\\n', max_size=40)
    )
)
def test_any_text_is_refused_alike_or_parsed_alike(udf, text):
    """Bodies that are mostly not JSON: the transform's parser refuses what Python's json refuses."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not text a message can carry
        return
    python, javascript = both(udf, data)
    assert javascript == python
