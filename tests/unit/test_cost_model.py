"""docs/cost.md: the arithmetic of the cost model, checked by hand on the 10,000-sensor fleet."""

from __future__ import annotations

import math

import pytest

from scripts import cost_model

GIB, TIB = 2**30, 2**40


@pytest.fixture(scope="module")
def model() -> tuple[dict, dict, cost_model.Sizes]:
    inputs, prices = cost_model.load(cost_model.INPUTS), cost_model.load(cost_model.PRICES)
    return inputs, prices, cost_model.measure_sizes(inputs["fleet"]["example_events"])


def test_ten_thousand_sensors_cost_what_the_prices_and_measurements_say(model):
    inputs, prices, sizes = model
    assert inputs["fleet"]["heartbeat_minutes"] == 15 and inputs["fleet"]["events_per_heartbeat"] == 2
    bill = {
        item.name: cost_model.cost(item, prices) for item in cost_model.items(10_000, inputs, prices, sizes)
    }
    events = 10_000 * 2 * (30 * 24 * 4)  # a reading and a networkStatus every 15 minutes, 30 days
    assert events == 57_600_000
    assert bill["Cloud Run functions: requests"] == pytest.approx(2 * 57.6 * 0.40)  # ingest + route

    # ingest: 22.2 events/s, each keeping a 100 ms billing slice open (latency 31 ms < 100 ms), so
    # Poisson(2.22) open slices, and with concurrency 80 one instance whenever there is any.
    rate = events / (30 * 86_400)
    busy = 1 - math.exp(-rate * 0.1)
    seconds = busy * 30 * 86_400
    assert bill["Cloud Run functions: ingest vCPU time"] == pytest.approx(seconds * 1.0 * 0.000024, rel=1e-6)
    assert bill["Cloud Run functions: ingest memory time"] == pytest.approx(
        seconds * 0.5 * 0.0000025, rel=1e-6
    )

    # Messages are under 1,000 bytes: each publish and each push is billed as 1,000 bytes.
    assert sizes.message_bytes < 1000
    assert (
        bill["Pub/Sub: publish"]
        == bill["Pub/Sub: push delivery to route"]
        == pytest.approx(events * 1000 / TIB * 40)
    )
    assert bill["BigQuery: streaming inserts"] == pytest.approx(
        events * max(sizes.row_bytes, 1024) / GIB * 0.05
    )
    assert bill["BigQuery: storage of a month's rows, per month kept"] == pytest.approx(
        events * sizes.row_bytes / GIB * 0.02
    )
    assert bill["Secret Manager: active versions"] == pytest.approx(0.06)
    # INFO: one line per function (182 + 500 and 171 + 500 bytes) and a 1,200-byte request log each.
    assert bill["Cloud Logging"] == pytest.approx(events * (682 + 671 + 2 * 1200) / GIB * 0.50)
    assert cost_model.total(cost_model.items(10_000, inputs, prices, sizes), prices) == pytest.approx(
        sum(bill.values())
    )


def test_concurrency_1_bills_each_request_its_own_slice_and_cpu_sets_a_floor():
    function = {"concurrency": 1, "latency_seconds": 0.03, "cpu_seconds_per_event": 0.001, "vcpu": 1.0}
    assert cost_model.billed_instances(50.0, function, 0.1, 0.6) == pytest.approx(50 * 0.1)
    busy = function | {"concurrency": 80, "cpu_seconds_per_event": 0.05}
    assert cost_model.billed_instances(100.0, busy, 0.1, 0.6) == pytest.approx(100 * 0.05 / 0.6)


def test_docs_cost_md_is_what_the_script_writes_from_the_committed_inputs():
    assert cost_model.main(["--check"]) == 0, "run .venv/bin/python -m scripts.cost_model"
