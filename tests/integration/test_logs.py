"""What the functions log, through the real servers: no line per successful event at the
default level, a summary per instance instead, a flood of refused requests in a bounded number
of lines, and the per-event lines back with LOG_LEVEL=DEBUG."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.logs import LOGGED_PER_INTERVAL, SUMMARY_SECONDS
from local.dt_signing import headers_for, new_xid
from local.pipeline import Pipeline, PipelineSettings
from local.servers import FunctionServer, free_port
from tests.support.bigquery import wait_for_rows
from tests.support.dt import SECRET, example_body, with_event

EVENTS = 1_000
FLOOD = 10_000
PER_EVENT = {"event published", "event written"}


@dataclass
class Logs:
    ingest: list[dict[str, Any]]
    route: list[dict[str, Any]]
    flood_intervals: int  # summary intervals the refused flood touched


def entries(path: Path) -> list[dict[str, Any]]:
    """The JSON lines our code wrote (functions-framework's and gunicorn's own lines are not JSON)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def summaries(lines: list[dict[str, Any]], function: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("summaryOf") == function]


def total(lines: list[dict[str, Any]], outcome: str) -> int:
    return sum(sum(line.get(outcome, {}).values()) for line in lines)


def post_all(url: str, bodies_and_headers: list[tuple[bytes, dict[str, str]]]) -> Counter:
    """Send every request from a few threads, each with a kept-alive session; count the answers."""

    def send(chunk: list[tuple[bytes, dict[str, str]]]) -> Counter:
        with requests.Session() as session:
            return Counter(session.post(url, data=b, headers=h, timeout=30).status_code for b, h in chunk)

    chunks = [bodies_and_headers[index::8] for index in range(8)]
    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(send, chunks), Counter())


def signed_events(count: int) -> list[tuple[bytes, dict[str, str]]]:
    bodies = [with_event(example_body("temperature"), eventId=new_xid()) for _ in range(count)]
    return [(body, headers_for(body, secret=SECRET)) for body in bodies]


def restart(server: FunctionServer, log_path: Path, **env: str) -> FunctionServer:
    """The same function on the same port, with its environment changed and a log of its own."""
    server.stop()
    replacement = FunctionServer(server.target, server.port, server.env | env, log_path)
    replacement.start()
    return replacement


@pytest.fixture(scope="module")
def log_pipeline() -> Any:
    settings = PipelineSettings(
        ingest_port=free_port(), route_port=free_port(), pubsub_port=free_port(),
        bigquery_port=free_port(), bigquery_grpc_port=free_port(), signature_secret=SECRET,
    )  # fmt: skip
    with Pipeline(settings) as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
def default_level(log_pipeline: Pipeline) -> Logs:
    """1,000 events, then 10,000 refused requests, at the default level; the logs once both
    functions have stopped (so their exit summaries are in)."""
    answers = post_all(log_pipeline.ingest_url, signed_events(EVENTS))
    assert answers == {200: EVENTS}
    wait_for_rows(log_pipeline, "SELECT event_id FROM {dataset}.temperature", EVENTS, timeout=180)
    log_pipeline.wait_idle()
    # Junk from the internet: a bad signature, no signature, an empty body, a wrong method.
    body = example_body("temperature")
    bad = headers_for(body, secret="not-the-secret")
    junk = [(body, bad)] * (FLOOD // 2) + [(body, {})] * (FLOOD // 4) + [(b"", bad)] * (FLOOD // 4)
    started = time.monotonic()
    refused = post_all(log_pipeline.ingest_url, junk)
    intervals = math.ceil((time.monotonic() - started) / SUMMARY_SECONDS) + 1
    assert refused == {401: FLOOD * 3 // 4, 400: FLOOD // 4}
    logs = log_pipeline.work_dir / "logs"
    log_pipeline.ingest.stop()
    log_pipeline.route.stop()
    return Logs(entries(logs / "ingest.log"), entries(logs / "route.log"), intervals)


def test_no_line_per_successful_event_at_the_default_level(default_level):
    for lines in (default_level.ingest, default_level.route):
        assert not [line for line in lines if line["message"] in PER_EVENT]
        assert not [line for line in lines if line.get("eventId")]
        assert all(line["severity"] != "DEBUG" for line in lines)


def test_each_function_logs_a_summary_that_counts_every_event(default_level):
    ingest, route = summaries(default_level.ingest, "ingest"), summaries(default_level.route, "route")
    assert ingest and route
    assert total(ingest, "published") == EVENTS
    assert {key for line in ingest for key in line.get("published", {})} == {"temperature"}
    assert total(route, "written") >= EVENTS  # at least once: Pub/Sub may redeliver
    assert {key for line in route for key in line.get("written", {})} == {"temperature"}
    assert total(route, "failed") == total(route, "deadLettered") == 0
    timed = [line["latencyMs"] for line in ingest + route if "latencyMs" in line]
    assert timed and all(0 < t["p50"] <= t["p90"] <= t["p99"] <= t["max"] for t in timed)
    # Start-up lines say the configuration, never a secret.
    assert [line["message"] for line in default_level.ingest].count("ingest ready") == 1
    assert SECRET not in json.dumps(default_level.ingest)


def test_a_flood_of_refused_requests_writes_a_bounded_number_of_lines(default_level):
    refusals = [line for line in default_level.ingest if line.get("httpStatus", 0) // 100 == 4]
    # The first few of each interval one by one, whatever the flood's size.
    assert 1 <= len(refusals) <= default_level.flood_intervals * LOGGED_PER_INTERVAL
    ingest = summaries(default_level.ingest, "ingest")
    assert total(ingest, "refused") == FLOOD, "every refusal is counted in a summary"
    counted = Counter()
    for line in ingest:
        counted.update(line.get("refused", {}))
    assert counted == {"invalid_signature": FLOOD * 3 // 4, "invalid_body": FLOOD // 4}
    not_logged = sum(line.get("notLoggedIndividually", {}).get("refused", 0) for line in ingest)
    assert not_logged == FLOOD - len(refusals)
    bound = (
        default_level.flood_intervals * (LOGGED_PER_INTERVAL + 1) + 3
    )  # + start-up, first and last summaries
    assert len(default_level.ingest) <= bound, "10,000 refused requests must not buy log volume"


def test_log_level_debug_brings_the_per_event_lines_back(log_pipeline, default_level):
    logs = log_pipeline.work_dir / "logs"
    log_pipeline.route = restart(log_pipeline.route, logs / "route-debug.log", LOG_LEVEL="DEBUG")
    log_pipeline.ingest = restart(log_pipeline.ingest, logs / "ingest-debug.log", LOG_LEVEL="DEBUG")
    sent = signed_events(20)
    assert post_all(log_pipeline.ingest_url, sent) == {200: 20}
    ids = {json.loads(body)["event"]["eventId"] for body, _ in sent}
    quoted = ", ".join(f"'{event_id}'" for event_id in ids)
    wait_for_rows(
        log_pipeline, f"SELECT event_id FROM {{dataset}}.temperature WHERE event_id IN ({quoted})", 20
    )
    log_pipeline.wait_idle()
    published = {
        line["eventId"] for line in entries(logs / "ingest-debug.log") if line["message"] == "event published"
    }
    written = {
        line["eventId"] for line in entries(logs / "route-debug.log") if line["message"] == "event written"
    }
    assert published == ids
    assert written == ids
