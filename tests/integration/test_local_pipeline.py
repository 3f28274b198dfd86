"""The README's first command, end to end, and the simulated fleet it sends."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from functions import catalogue, envelope
from functions.bigquery_writer import bigquery_client
from local import emulators
from local.fleet import DEVICE_EVENTS, UNKNOWN_EVENT_TYPE, make_devices, plan
from local.pipeline import ROUTERS
from local.servers import free_port
from tests.support.paths import ROOT


def test_the_fleet_covers_every_event_type_and_device_type_with_valid_dt_bodies():
    devices = make_devices(1, "project0000000000001", seed=1)
    events = plan(devices, 5, timedelta(hours=6), datetime.now(UTC))
    assert {device.device_type for device in devices} == set(DEVICE_EVENTS)
    sent_types = {event.event_type for event in events}
    assert set(catalogue.event_tables()) <= sent_types
    assert {event.kind for event in events} == {"event", "duplicate", "unknown", "backfilled"}
    for event in events:
        parsed = envelope.parse(event.body)
        assert parsed.labels["name"] and parsed.metadata["deviceType"] in DEVICE_EVENTS
    [unknown] = [event for event in events if event.kind == "unknown"]
    assert unknown.event_type == UNKNOWN_EVENT_TYPE not in catalogue.event_tables()


def summary_table(output: str) -> dict[str, tuple[int, int, int]]:
    rows = re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)$", output, flags=re.MULTILINE)
    return {name: (int(sent), int(accepted), int(landed)) for name, sent, accepted, landed in rows}


@pytest.mark.timeout(600)
def test_run_demo_lands_every_accepted_event_once_and_says_so(tmp_path):
    ports = {name: free_port() for name in ("ingest", "route", "pubsub", "bigquery", "bigquery-grpc")}
    command = ["./run", "demo", "--devices", "1", "--events", "6", "--work-dir", str(tmp_path)]
    command += [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=500, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    printed = summary_table(result.stdout)
    assert set(catalogue.event_tables()) | {UNKNOWN_EVENT_TYPE, "total"} == set(printed)
    for event_type, (sent, accepted, landed) in printed.items():
        assert sent == accepted == landed > 0, event_type
    duplicate = re.search(
        r"event (\w+) \((\w+)\) sent twice: (\d+) rows in (\w+), (\d+) in the view", result.stdout
    )
    assert duplicate and duplicate.group(5) == "1"
    assert "Stopped everything." in result.stdout
    # Both ways in landed: one DT project through ingest, one published as DT's Pub/Sub connector.
    ways = re.findall(
        r"^(simulatedproject\d+)\s+(HTTP_PUSH|GOOGLE_CLOUD_PUBSUB)\b.*?(\d+)\s+(\d+)$", result.stdout, re.M
    )
    assert {way for _, way, _, _ in ways} == {"HTTP_PUSH", "GOOGLE_CLOUD_PUBSUB"}, result.stdout
    for project, way, accepted, landed in ways:
        assert int(accepted) == int(landed) > 0, (project, way)
    # Both routers, each on its own subscription to the topic, landed every event, and the same rows.
    section = result.stdout[result.stdout.index("Both routers, the same events") :]
    routers = dict(re.findall(r"^(function|bigquery_subscription)\s+\w+\s+(\d+)$", section, re.M))
    assert routers == {router: str(printed["total"][1]) for router in ROUTERS}, section
    assert f"The rows of events_log agree for all {printed['total'][1]} events" in section, section

    # What the demo printed is what BigQuery holds: reopen its (persistent) BigQuery data.
    bq = emulators.BigQueryEmulator(
        free_port(), tmp_path / "logs", tmp_path / "bigquery", "local", free_port(), persistent=True
    )
    bq.start()
    try:
        client = bigquery_client("local", f"http://{bq.host}")
        sql = "SELECT event_type, COUNT(*) AS n FROM `local.dt.events` GROUP BY 1"
        counts = {row["event_type"]: row["n"] for row in client.query(sql).result()}
        assert counts == {name: landed for name, (_, _, landed) in printed.items() if name != "total"}
        other = client.query(sql.replace("local.dt.", "local.dt_bigquery_subscription.")).result()
        assert {row["event_type"]: row["n"] for row in other} == counts, "the other router's dataset"
        unknowns = list(client.query("SELECT event_type, data FROM `local.dt.unknown_events`").result())
        assert len(unknowns) == 2, "one unknown event from each fleet (HTTP_PUSH and Pub/Sub)"
        assert all(unknown["event_type"] == UNKNOWN_EVENT_TYPE and unknown["data"] for unknown in unknowns)
        sql = f"SELECT event_id FROM `local.dt.{catalogue.LANDING_TABLE}` WHERE event_id = '{duplicate.group(1)}'"
        assert len(list(client.query(sql).result())) == int(duplicate.group(3)) == 2, (
            "both deliveries are logged"
        )
    finally:
        bq.stop()
