"""docs/cost.md: the arithmetic of the cost model, checked by hand on the 10,000-sensor fleet, and
its inputs: checked dataclasses that name what is missing, and tables only between markers."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from scripts import cost_inputs, cost_model

GIB, TIB = 2**30, 2**40
MONTH = 30 * 86_400
EVENTS = 10_000 * 2 * (30 * 24 * 4)  # a reading and a networkStatus every 15 minutes, 30 days


@pytest.fixture(scope="module")
def model() -> cost_model.Model:
    return cost_model.load_model()


def bill_of(model: cost_model.Model, combination: str, sensors: int = 10_000) -> dict[str, float]:
    items = model.items(sensors, model.combination(combination))
    return {item.name: model.cost(item) for item in items}


def test_ten_thousand_sensors_with_http_push_and_the_route_function(model):
    assert EVENTS == model.fleet.events_per_month(10_000) == 57_600_000
    bill = bill_of(model, "HTTP_PUSH + function")
    assert bill["Cloud Run functions: requests"] == pytest.approx(2 * 57.6 * 0.40)  # ingest + route
    # 22.2 events/s, each keeping a 100 ms billing slice open (latencies < 100 ms), so Poisson(2.22)
    # open slices, and with concurrency 80 (ingest) or 40 (route) one instance whenever there is any.
    busy_seconds = (1 - math.exp(-EVENTS / MONTH * 0.1)) * MONTH
    for name in ("ingest", "route"):
        assert bill[f"Cloud Run functions: {name} vCPU time"] == pytest.approx(
            busy_seconds * 0.000024, rel=1e-6
        )
        assert bill[f"Cloud Run functions: {name} memory time"] == pytest.approx(
            busy_seconds * 0.5 * 0.0000025, rel=1e-6
        )
    # Messages are under 1,000 bytes: each publish and each push is billed as 1,000 bytes.
    assert model.sizes.message_bytes < 1000
    assert (
        bill["Pub/Sub: publish"]
        == bill["Pub/Sub: push delivery to route"]
        == pytest.approx(EVENTS * 1000 / TIB * 40)
    )
    assert bill["BigQuery: streaming inserts"] == pytest.approx(
        EVENTS * max(model.sizes.row_bytes, 1024) / GIB * 0.05
    )
    assert bill["BigQuery: storage of a month's rows, per month kept"] == pytest.approx(
        EVENTS * model.sizes.row_bytes / GIB * 0.02
    )
    assert bill["Secret Manager: active versions"] == pytest.approx(0.06)
    # INFO: per function a summary every minute (22 events a minute: never a quiet one) and a
    # start-up line per instance start, each with the entry's overhead; no request logs (2xx excluded).
    volume = model.log_volume.levels["info"]
    log_bytes = sum(
        MONTH / 60 * (volume[name].summary_line_bytes + 500) + 1440 * (volume[name].start_up_line_bytes + 500)
        for name in ("ingest", "route")
    )
    assert bill["Cloud Logging"] == pytest.approx(log_bytes / GIB * 0.50, rel=1e-6)
    assert model.total(model.items(10_000, model.combination("HTTP_PUSH + function"))) == pytest.approx(
        sum(bill.values())
    )


def test_google_cloud_pubsub_with_the_bigquery_subscription_runs_no_function(model):
    bill = bill_of(model, "GOOGLE_CLOUD_PUBSUB + bigquery_subscription")
    larger = max(model.sizes.message_bytes, model.sizes.row_bytes)  # the row, after the transform
    assert larger > 1000
    assert bill == pytest.approx(
        {
            "Pub/Sub: publish": EVENTS * 1000 / TIB * 40,
            "Pub/Sub: JavaScript UDF transform": EVENTS * larger / TIB * 40,
            "Pub/Sub: BigQuery subscription": EVENTS * larger / TIB * 50,
            "BigQuery: storage of a month's rows, per month kept": EVENTS
            * model.sizes.row_bytes
            / GIB
            * 0.02,
            "Cloud Logging": 0.0,
        }
    )


def test_http_push_with_the_bigquery_subscription_has_ingest_and_no_insert(model):
    bill = bill_of(model, "HTTP_PUSH + bigquery_subscription")
    assert bill["Cloud Run functions: requests"] == pytest.approx(57.6 * 0.40)
    assert "BigQuery: streaming inserts" not in bill and "Pub/Sub: push delivery to route" not in bill
    assert not [name for name in bill if "route" in name]


def test_debug_and_kept_request_logs_add_a_line_per_event(model):
    logs = model.inputs.logs
    debug = model.replace(logs=dataclasses.replace(logs, level="DEBUG"))
    kept = model.replace(logs=dataclasses.replace(logs, exclude_successful_request_logs=False))
    for name in ("ingest", "route"):
        line = model.log_volume.levels["debug"][name]
        base = model.log_bytes(10_000, name)
        summaries = (
            MONTH / 60 * (line.summary_line_bytes - model.log_volume.levels["info"][name].summary_line_bytes)
        )
        starts = 1440 * (line.start_up_line_bytes - model.log_volume.levels["info"][name].start_up_line_bytes)
        assert debug.log_bytes(10_000, name) == pytest.approx(
            base + summaries + starts + EVENTS * (line.per_event_line_bytes + 500), rel=1e-6
        )
        assert kept.log_bytes(10_000, name) == pytest.approx(base + EVENTS * 1200)
    warning = model.replace(logs=dataclasses.replace(logs, level="WARNING"))
    assert warning.log_bytes(10_000, "route") == 0


def test_a_query_bills_its_columns_over_its_days_and_at_least_10_mb_per_table(model):
    (query,) = [q for q in model.inputs.queries if q.name == "temperature_latest"]
    (part,) = query.parts
    per_row = sum(model.sizes.columns["temperature"][column] for column in part.columns)
    window = model.inputs.views.window_days
    rows = EVENTS / 30 * window / 2  # the window's temperature events: half of all
    assert model.query_bytes(10_000, query) == pytest.approx(rows * per_row)
    assert model.query_bytes(1, query) == 10 * 2**20  # a tiny fleet still bills 10 MB
    (bounded,) = [q for q in model.inputs.queries if q.name == "device_last_seen"]
    (unbounded,) = [q for q in model.inputs.queries if q.name == "device_last_seen, unbounded"]
    assert model.query_bytes(10_000, unbounded) == pytest.approx(
        model.query_bytes(10_000, bounded) * 365 / window
    )


def test_concurrency_1_bills_each_request_its_own_slice_and_cpu_sets_a_floor():
    function = cost_inputs.Function(0.03, "", 0.001, "", vcpu=1.0, memory_gib=0.5, concurrency=1)
    assert cost_model.billed_instances(50.0, function, 0.1, 0.6) == pytest.approx(50 * 0.1)
    busy = dataclasses.replace(function, concurrency=80, cpu_seconds_per_event=0.05)
    assert cost_model.billed_instances(100.0, busy, 0.1, 0.6) == pytest.approx(100 * 0.05 / 0.6)


def without(text: str, line: str) -> str:
    assert line in text
    return text.replace(line, "", 1)


def test_a_missing_unknown_or_mistyped_input_is_an_error_that_names_it(tmp_path: Path):
    text = cost_inputs.INPUTS.read_text()
    cases = {
        "missing": (
            without(text, "cpu_seconds_per_event = 0.00067\n"),
            "[functions.route] has no cpu_seconds_per_event",
        ),
        "unknown": (
            text.replace("[instances]\n", "[instances]\nstart_per_month = 3\n"),
            "unknown key(s) start_per_month",
        ),
        "mistyped": (
            text.replace("concurrency = 40", 'concurrency = "40"'),
            "[functions.route].concurrency = '40'",
        ),
        "no table": (text.replace("[secrets]", "[secret]"), "has no [secrets]"),
    }
    for name, (broken, expected) in cases.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(broken)
        with pytest.raises(cost_inputs.InputError, match=None) as raised:
            cost_inputs.load_inputs(path)
        assert expected in str(raised.value), name
    prices = tmp_path / "prices.toml"
    prices.write_text(without(cost_inputs.PRICES.read_text(), "usd = 6.25\n"))
    with pytest.raises(cost_inputs.InputError, match=r"\[prices.bigquery_on_demand_query\] has no usd"):
        cost_inputs.load_prices(prices)


def test_only_the_text_between_markers_is_generated():
    document = "prose\n<!-- table:a -->\nold\n<!-- /table:a -->\nmore prose\n"
    assert cost_model.with_tables(document, {"a": "| x |"}) == (
        "prose\n<!-- table:a -->\n| x |\n<!-- /table:a -->\nmore prose\n"
    )
    with pytest.raises(cost_inputs.InputError, match="no <!-- table:NAME --> markers for b"):
        cost_model.with_tables(document, {"a": "", "b": ""})
    with pytest.raises(cost_inputs.InputError, match="does not write: a"):
        cost_model.with_tables(document, {})


def test_every_goal_is_met_in_the_model(model):
    for goal in model.inputs.goals:
        combination = model.combination(goal.combination)
        assert max(model.per_million(n, combination, goal.item) for n in goal.sensors) <= goal.at_most, goal


def test_docs_cost_md_is_what_the_script_writes_from_the_committed_inputs():
    assert cost_model.main(["--check"]) == 0, "run .venv/bin/python -m scripts.cost_model"
