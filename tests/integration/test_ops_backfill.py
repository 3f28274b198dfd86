"""`dt-bigquery-ops backfill`, run as an operator runs it (tests/support/ops.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import requests

from functions import envelope
from local.dt_signing import headers_for
from local.reading import pull_and_ack
from tests.support.bigquery import wait_for_rows
from tests.support.dt import SECRET
from tests.support.ops import (
    DT_PROJECT,
    FAST,
    add_device,
    add_events,
    as_sent_live,
    copies_in_views,
    fleet,
    ops,
    summary,
    topic_with_subscription,
    window,
)
from tests.support.paths import OPS_CLI, ROOT


def test_backfill_writes_missing_events_once_also_where_they_overlap_live_ones(pipeline, fake_dt, tmp_path):
    events = fleet(fake_dt)
    freezer, server_room, _ = events
    everything = [event for device_events in events.values() for event in device_events]
    live = [events[freezer][0], events[server_room][3]]  # arrived before the connector failed
    for event, device_type in zip(live, ("temperature", "humidity"), strict=True):
        body = as_sent_live(event, {"name": "as labelled then"}, device_type)
        answer = requests.post(
            pipeline.ingest_url, data=body, headers=headers_for(body, secret=SECRET), timeout=30
        )
        assert answer.status_code == 200, answer.text
    copies_in_views(pipeline, live)
    fake_dt.fail("/devices", 429, retry_after="1", method="GET")
    fake_dt.fail(f"/devices/{server_room}/events", 500, times=2)

    result = ops(
        pipeline, fake_dt, "backfill", "--project", DT_PROJECT, *window(), "--state-file", str(tmp_path / "state.json"),
        "--check-present", "--progress", "--json", *FAST,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    totals = summary(result)["totals"]
    assert totals == totals | {
        "devices": 3,
        "devicesDone": 3,
        "found": 13,
        "published": 13,
        "alreadyPresent": 2,
    }
    assert fake_dt.answered("/devices", 429) and fake_dt.answered(f"/devices/{server_room}/events", 500)
    assert copies_in_views(pipeline, everything) == {event["eventId"]: 1 for event in everything}
    for device_id in events:
        assert f"{device_id}  [{'#' * 24}] 100%" in result.stderr, "one progress bar per device"
    overlap = f"SELECT source FROM {{dataset}}.events_log WHERE event_id = '{live[0]['eventId']}'"
    # The log keeps both copies (a redelivery may add more: Pub/Sub is at least once); the views show one.
    assert {row["source"] for row in wait_for_rows(pipeline, overlap, 2)} == {"backfill", "webhook"}


def test_a_backfilled_row_has_the_device_labels_and_metadata_a_connector_would_send(
    pipeline, fake_dt, tmp_path
):
    freezer = add_device(fake_dt, "temperature", name="Freezer 2", description="Left shelf", floor="1")
    [event] = add_events(fake_dt, freezer, "temperature", 1)

    result = ops(pipeline, fake_dt, "backfill", "--project", DT_PROJECT, *window(),
                 "--state-file", str(tmp_path / "state.json"), *FAST)  # fmt: skip

    assert result.returncode == 0, result.stderr
    [row] = wait_for_rows(
        pipeline, f"SELECT * FROM {{dataset}}.temperature WHERE event_id = '{event['eventId']}'", 1
    )
    assert row["source"] == "backfill"
    assert (row["device_name"], row["device_description"]) == ("Freezer 2", "Left shelf")
    assert row["labels"] == {"name": "Freezer 2", "description": "Left shelf"}, "only the forwarded keys"
    assert (row["device_type"], row["product_number"]) == ("temperature", "102058")
    assert row["raw"] == {
        "event": event,
        "labels": {"name": "Freezer 2", "description": "Left shelf"},
        "metadata": {
            "deviceId": freezer,
            "projectId": DT_PROJECT,
            "deviceType": "temperature",
            "productNumber": "102058",
        },
    }
    assert row["value"] == event["data"]["temperature"]["value"]
    assert "1 of 1 devices done; 1 events found, 1 published" in result.stdout


def test_backfill_publishes_with_the_attributes_of_live_events_and_source_backfill(
    pipeline, fake_dt, tmp_path
):
    topic, subscription = topic_with_subscription(pipeline, "backfill-format")
    button = add_device(fake_dt, "touch", name="Fjord button", room="4")
    sent = add_events(fake_dt, button, "touch", 4)

    result = ops(pipeline, fake_dt, "backfill", "--project", DT_PROJECT, *window(), "--topic", topic,
                 "--labels", "name,room", "--state-file", str(tmp_path / "state.json"), *FAST)  # fmt: skip

    assert result.returncode == 0, result.stderr
    messages = sorted(
        pull_and_ack(pipeline.subscriber, subscription, 4), key=lambda m: m.attributes["timestamp"]
    )
    assert [json.loads(m.data)["event"] for m in messages] == sent
    for message in messages:
        assert message.data == as_sent_live(
            json.loads(message.data)["event"], {"name": "Fjord button", "room": "4"}, "touch"
        )
        assert dict(message.attributes) == envelope.parse(message.data).attributes() | {"source": "backfill"}
        assert message.attributes["deviceType"] == "touch"


def test_an_interrupted_backfill_resumes_from_its_last_page_and_writes_each_event_once(
    pipeline, fake_dt, tmp_path
):
    events = fleet(fake_dt)
    _, server_room, _ = events
    everything = [event for device_events in events.values() for event in device_events]
    fake_dt.fail(f"/devices/{server_room}/events", 500, times=None, after=1)  # page 2 of 2 fails for good
    command = ["backfill", "--project", DT_PROJECT, *window(), "--state-file", str(tmp_path / "state.json"),
               "--max-retries", "2", "--json", *FAST]  # fmt: skip

    first = ops(pipeline, fake_dt, *command)

    assert first.returncode == 1
    assert "Rerun the same command to continue" in first.stderr
    assert summary(first)["complete"] is False
    progress = {device["deviceId"]: device for device in summary(first)["devices"]}
    assert (
        progress[server_room] | {"pages": 1, "published": 3, "status": "failed", "done": False}
        == progress[server_room]
    )
    saved = json.loads((tmp_path / "state.json").read_text())["devices"][server_room]
    assert saved["pageToken"], "the state keeps the token of the page that failed"

    fake_dt.clear_faults()
    second = ops(pipeline, fake_dt, *command)

    assert second.returncode == 0, second.stderr
    assert summary(second)["resumed"] is True
    first_published = summary(first)["totals"]["publishedThisRun"]
    assert first_published + summary(second)["totals"]["publishedThisRun"] == len(everything) == 13
    first_pages = [
        r for r in fake_dt.answered(f"/devices/{server_room}/events", 200) if "pageToken" not in r.query
    ]
    assert len(first_pages) == 1, "the rerun did not fetch the server room's first page again"
    assert copies_in_views(pipeline, everything) == {event["eventId"]: 1 for event in everything}


def test_ctrl_c_stops_a_backfill_with_its_place_saved_and_a_rerun_completes(pipeline, fake_dt, tmp_path):
    topic, subscription = topic_with_subscription(pipeline, "backfill-interrupted")
    events = fleet(fake_dt)
    everything = [event for device_events in events.values() for event in device_events]
    fake_dt.event_page_delay = 1.0  # the rest of the backfill outlasts a loaded machine's reaction
    state = tmp_path / "state.json"
    command = [str(OPS_CLI), "backfill", "--project", DT_PROJECT, *window(),
               "--topic", topic, "--state-file", str(state), "--json", *FAST]  # fmt: skip
    environment = os.environ | fake_dt.env() | {"PUBSUB_EMULATOR_HOST": pipeline.pubsub.host}
    process = subprocess.Popen(
        command, env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # Ctrl-C as from a terminal: SIGINT at its default, whatever the test run inherited (an
        # ignored SIGINT is inherited, and Python then never raises KeyboardInterrupt).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (state.exists() and '"done": true' in state.read_text()):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 1, err
    assert b"interrupted" in err
    interrupted = json.loads(out)
    assert 0 < interrupted["totals"]["publishedThisRun"] < 13
    fake_dt.event_page_delay = 0
    rerun = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["resumed"] is True
    assert json.loads(rerun.stdout)["totals"]["publishedThisRun"] < 13
    received = pull_and_ack(pipeline.subscriber, subscription, 13)
    assert {message.attributes["eventId"] for message in received} == {
        event["eventId"] for event in everything
    }


def test_a_saved_page_token_that_dt_refuses_restarts_that_device_only(pipeline, fake_dt, tmp_path):
    topic, subscription = topic_with_subscription(pipeline, "backfill-stale-token")
    events = fleet(fake_dt)
    freezer, _, _ = events
    everything = [event for device_events in events.values() for event in device_events]
    fake_dt.fail(f"/devices/{freezer}/events", 503, times=None, after=1)
    state = tmp_path / "state.json"
    command = ["backfill", "--project", DT_PROJECT, *window(), "--topic", topic, "--state-file", str(state),
               "--max-retries", "0", "--json", *FAST]  # fmt: skip
    assert ops(pipeline, fake_dt, *command).returncode == 1
    saved = json.loads(state.read_text())
    saved["devices"][freezer]["pageToken"] = "expired-token"
    state.write_text(json.dumps(saved))
    fake_dt.clear_faults()

    result = ops(pipeline, fake_dt, *command)

    assert result.returncode == 0, result.stderr
    assert f"DT refused the saved page token of {freezer}; restarting that device" in result.stderr
    [freezer_progress] = [d for d in summary(result)["devices"] if d["deviceId"] == freezer]
    assert (freezer_progress["found"], freezer_progress["published"]) == (7, 7)
    received = pull_and_ack(pipeline.subscriber, subscription, 13 + 3)
    assert {message.attributes["eventId"] for message in received} == {
        event["eventId"] for event in everything
    }


def test_a_dry_run_counts_the_chosen_types_without_publishing_or_keeping_state(pipeline, fake_dt, tmp_path):
    topic, subscription = topic_with_subscription(pipeline, "backfill-dry-run")
    fleet(fake_dt)

    result = ops(pipeline, fake_dt, "backfill", "--project", DT_PROJECT, *window(), "--topic", topic,
                 "--types", "temperature,humidity", "--dry-run", "--state-file", str(tmp_path / "state.json"), *FAST)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "9 events found, 0 published" in result.stdout
    assert all(
        request.query["eventTypes"] == ["temperature", "humidity"] for request in fake_dt.answered("/events")
    )
    assert not (tmp_path / "state.json").exists()
    assert (
        pipeline.subscriber.pull(subscription=subscription, max_messages=10, timeout=5).received_messages
        == []
    )


def test_backfill_refuses_a_window_that_ends_before_it_starts(pipeline, fake_dt):
    result = ops(pipeline, fake_dt, "backfill", "--project", DT_PROJECT, "--since", "1d", "--until", "2d")
    assert result.returncode == 2
    assert "must be before --until" in result.stderr
