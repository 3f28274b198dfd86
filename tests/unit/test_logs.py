"""functions/logs.py's Summary: when it writes, what it counts, from many threads at once, and
that a refusal flood is counted but logged only a few times per interval."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator

import pytest

from functions import logs


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def summaries(self) -> list[dict]:
        return [r.fields for r in self.records if "summaryOf" in getattr(r, "fields", {})]  # type: ignore[attr-defined]


@pytest.fixture
def records() -> Iterator[Records]:
    logs.configure("INFO")
    logger = logging.getLogger("dt_bigquery")
    handler = Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_summary_at_the_first_event_then_once_per_interval_and_none_when_quiet(records):
    clock = Clock()
    summary = logs.Summary("route", interval_seconds=60, clock=clock)
    summary.count("written", "temperature", 0.010)
    assert [s["written"] for s in records.summaries()] == [{"temperature": 1}]  # alive at once
    for _ in range(99):
        clock.now += 0.5
        summary.count("written", "temperature", 0.020)
    assert len(records.summaries()) == 1  # 49.5 s later: not yet
    clock.now += 11
    summary.count("written", "networkStatus", 0.030)
    last = records.summaries()[-1]
    assert last["written"] == {"temperature": 99, "networkStatus": 1}
    assert last["latencyMs"] == {"p50": 20.0, "p90": 20.0, "p99": 20.0, "max": 30.0}
    assert last["intervalSeconds"] == pytest.approx(60.5, abs=0.1)
    clock.now += 600
    summary.flush()  # nothing happened since: nothing written
    assert len(records.summaries()) == 2
    assert all(r.levelname == "INFO" for r in records.records)


def test_refusals_are_all_counted_but_only_the_first_few_logged(records):
    clock = Clock()
    summary = logs.Summary("ingest", clock=clock)
    logged = 0
    for _ in range(10_000):
        summary.count("refused", "invalid_signature")
        logged += summary.log_individually("refused")
    assert logged == logs.LOGGED_PER_INTERVAL
    summary.flush()
    last = records.summaries()[-1]
    assert last["refused"] == {"invalid_signature": 10_000 - 1}  # the first one's summary came at once
    assert last["notLoggedIndividually"] == {"refused": 10_000 - logs.LOGGED_PER_INTERVAL}
    assert records.records[-1].levelname == "WARNING"  # visible at LOG_LEVEL=WARNING too
    clock.now += 61  # a new interval: the first few are logged again
    assert summary.log_individually("refused")


def test_counts_from_many_threads_add_up_and_latencies_stay_bounded(records):
    summary = logs.Summary("route", interval_seconds=3600)
    summary.flush()

    def work() -> None:
        for _ in range(5_000):
            summary.count("written", "temperature", 0.001)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(summary._latencies) == logs.LATENCY_SAMPLES
    summary.flush()
    assert sum(s["written"]["temperature"] for s in records.summaries()) == 40_000


def test_sigterm_writes_the_summary_then_runs_the_previous_handler(records):
    called: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: called.append(number))
    try:
        summary = logs.Summary("ingest", interval_seconds=3600)
        summary.count("published", "temperature", 0.002)
        summary.count("published", "temperature", 0.002)
        os.kill(os.getpid(), signal.SIGTERM)
        assert called == [signal.SIGTERM]
        assert records.summaries()[-1]["published"] == {"temperature": 1}
    finally:
        signal.signal(signal.SIGTERM, previous)
