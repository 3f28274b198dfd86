"""The operations tool (`dt-bigquery-ops`) against a loopback DT API and the real emulators behind.

Each command runs as the installed console script in .venv-ops (a venv made from the ops
requirements only), as an operator or cron would run it; DT is `FakeDtApi`,
Pub/Sub and BigQuery are the emulators of the `pipeline` fixture with both functions serving.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import disruptive
import pytest
import requests

from functions import envelope, timestamps
from local.dt_signing import headers_for, new_xid
from ops import cli
from ops.dead_letters import replay_attributes
from ops.dt_api import DtApi, DtApiError, RetryPolicy
from tests.conftest import OPS_CLI, ROOT, SECRET, example_body, pull, wait_for_rows
from tests.support.fake_dt_api import FakeDtApi

DT_PROJECT = "c0md3mm0c7pet3vico8g"
FAST = ["--rate", "200", "--backoff", "0.01"]
NOW = datetime.now(UTC).replace(microsecond=0)
SINCE, UNTIL = NOW - timedelta(hours=3), NOW - timedelta(hours=1)


# Helpers ---------------------------------------------------------------------------------
@pytest.fixture
def fake_dt() -> Iterator[FakeDtApi]:
    fake = FakeDtApi(event_page_size=3, device_page_size=2).start()
    yield fake
    fake.stop()


def ops(pipeline, fake: FakeDtApi, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `dt-bigquery-ops ARGS` with DT = `fake` and Google = the emulators."""
    environment = os.environ | fake.env() | {
        "PUBSUB_EMULATOR_HOST": pipeline.pubsub.host,
        "PUBSUB_TOPIC": pipeline.topic_path,
        "BIGQUERY_DATASET": f"{pipeline.settings.project}.{pipeline.settings.dataset}",
        "BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint,
    } | env  # fmt: skip
    return subprocess.run(
        [str(OPS_CLI), *args],
        env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(result.stdout)


def add_device(fake: FakeDtApi, device_type: str, **labels: str) -> str:
    """A device as DT's device list shows it (shape of the disruptive package's test data)."""
    device_id = new_xid()
    fake.project(DT_PROJECT).devices.append(
        {
            "name": f"projects/{DT_PROJECT}/devices/{device_id}",
            "type": device_type,
            "labels": labels,
            "productNumber": "102058",
            "reported": {},
        }
    )
    return device_id


def add_events(
    fake: FakeDtApi, device_id: str, table: str, count: int, start: datetime = SINCE
) -> list[dict]:
    """`count` history events of `device_id`, a minute apart from `start` + 5 min, from the example of `table`."""
    events = []
    for minute in range(count):
        event = json.loads(example_body(table))["event"]
        stamp = timestamps.to_rfc3339(start + timedelta(minutes=5 + minute))
        event.update(
            eventId=new_xid(), targetName=f"projects/{DT_PROJECT}/devices/{device_id}", timestamp=stamp
        )
        data = event["data"].get(event["eventType"])
        if isinstance(data, dict) and "updateTime" in data:
            data["updateTime"] = stamp
        events.append(event)
    fake.project(DT_PROJECT).events.setdefault(device_id, []).extend(events)
    return events


def fleet(fake: FakeDtApi) -> dict[str, list[dict]]:
    """Three devices, 13 events over several pages (3 per page), one event outside the window."""
    freezer = add_device(fake, "temperature", name="Freezer 2", description="Left shelf", floor="1")
    server_room = add_device(fake, "humidity", name="Server room B")
    button = add_device(fake, "touch", name="Fjord button", description="Report a problem")
    events = {
        freezer: add_events(fake, freezer, "temperature", 5) + add_events(fake, freezer, "network_status", 2),
        server_room: add_events(fake, server_room, "humidity", 4),
        button: add_events(fake, button, "touch", 2),
    }
    add_events(fake, button, "touch", 1, start=UNTIL)  # after --until: not backfilled
    return events


def window() -> list[str]:
    return ["--since", SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"), "--until", UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")]


def ids_sql(events: list[dict]) -> str:
    return ", ".join(f"'{event['eventId']}'" for event in events)


def copies_in_views(pipeline, events: list[dict]) -> dict[str, int]:
    """How many times each event shows in what users query (waits until all are there)."""
    sql = f"SELECT event_id, COUNT(*) AS n FROM {{dataset}}.events WHERE event_id IN ({ids_sql(events)}) GROUP BY event_id"
    return {row["event_id"]: row["n"] for row in wait_for_rows(pipeline, sql, len(events))}


def as_sent_live(event: dict, labels: dict[str, str], device_type: str) -> bytes:
    """The body the connector sent for `event` before the outage."""
    device_id = event["targetName"].rsplit("/", 1)[-1]
    metadata = {
        "deviceId": device_id,
        "projectId": DT_PROJECT,
        "deviceType": device_type,
        "productNumber": "102058",
    }
    return json.dumps(
        {"event": event, "labels": labels, "metadata": metadata}, separators=(",", ":")
    ).encode()


def topic_with_subscription(pipeline, name: str) -> tuple[str, str]:
    topic = pipeline.publisher.topic_path(pipeline.settings.project, f"{name}-{new_xid()}")
    subscription = topic.replace("/topics/", "/subscriptions/")
    pipeline.publisher.create_topic(name=topic)
    pipeline.subscriber.create_subscription(name=subscription, topic=topic)
    return topic, subscription


# backfill --------------------------------------------------------------------------------
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
    messages = sorted(pull(pipeline.subscriber, subscription, 4), key=lambda m: m.attributes["timestamp"])
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
    received = pull(pipeline.subscriber, subscription, 13)
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
    received = pull(pipeline.subscriber, subscription, 13 + 3)
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


# health ----------------------------------------------------------------------------------
def add_connector(fake: FakeDtApi, status: str, successes: int, errors: int) -> str:
    connector_id = new_xid()
    project = fake.project(DT_PROJECT)
    project.connectors[connector_id] = {
        "name": f"projects/{DT_PROJECT}/dataconnectors/{connector_id}",
        "displayName": "bigquery",
        "type": "HTTP_PUSH",
        "status": status,
        "events": [],
        "labels": ["name", "description"],
        "httpConfig": {
            "url": "https://europe-west1-p.cloudfunctions.net/ingest",
            "signatureSecret": "",
            "headers": {},
        },
    }
    project.metrics[connector_id] = {"successCount": successes, "errorCount": errors, "latency99p": "0.411s"}
    return connector_id


def test_health_reports_status_metrics_and_the_newest_row_per_event_type(pipeline, fake_dt):
    connector = add_connector(fake_dt, "ACTIVE", successes=95, errors=1)
    event = json.loads(example_body("temperature"))
    event["event"].update(eventId=new_xid(), timestamp=timestamps.to_rfc3339(NOW - timedelta(minutes=1)))
    body = json.dumps(event).encode()
    requests.post(pipeline.ingest_url, data=body, headers=headers_for(body, secret=SECRET), timeout=30)
    copies_in_views(pipeline, [event["event"]])

    result = ops(
        pipeline, fake_dt, "health", "--project", DT_PROJECT, "--connector", connector, "--json", *FAST
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = summary(result)
    assert report["healthy"] is True and report["problems"] == []
    [checked] = report["connectors"]
    assert checked["status"] == "ACTIVE"
    assert checked["metrics"] == {
        "successCount": 95, "errorCount": 1, "errorRate": round(1 / 96, 6), "latency99p": "0.411s", "latency99pSeconds": 0.411,
    }  # fmt: skip
    newest = {row["eventType"]: row for row in report["newestRows"]}
    assert timestamps.parse(newest["temperature"]["newestEvent"]) >= NOW - timedelta(minutes=1)
    assert "signatureSecret" not in result.stdout


@pytest.mark.parametrize(
    ("status", "successes", "errors", "problem"),
    [
        ("SYSTEM_DISABLED", 0, 0, "SYSTEM_DISABLED: DT disabled it after 5 days"),
        ("USER_DISABLED", 0, 0, "USER_DISABLED"),
        ("ACTIVE", 80, 20, "20 of 100 deliveries failed in the last 3 hours (20.0%"),
    ],
)
def test_health_exits_3_when_the_connector_is_disabled_or_failing(
    pipeline, fake_dt, status, successes, errors, problem
):
    add_connector(fake_dt, "ACTIVE", successes=10, errors=0)
    add_connector(fake_dt, status, successes=successes, errors=errors)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--no-bigquery", *FAST)

    assert result.returncode == 3, result.stdout + result.stderr
    assert "UNHEALTHY" in result.stdout and problem in result.stdout


def test_health_exits_3_when_bigquery_has_no_recent_event(pipeline, fake_dt):
    connector = add_connector(fake_dt, "ACTIVE", successes=10, errors=0)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--connector", connector,
                 "--lookback", "1s", "--max-age", "1h", "--json", *FAST)  # fmt: skip

    assert result.returncode == 3
    assert summary(result)["newestRows"] == []
    assert "no event, older than --max-age" in summary(result)["problems"][0]


# sync and enable ---------------------------------------------------------------------------
def test_sync_asks_dt_to_push_the_latest_events_through_the_connector(pipeline, fake_dt):
    connector = add_connector(fake_dt, "ACTIVE", successes=1, errors=0)

    result = ops(pipeline, fake_dt, "sync", "--project", f"projects/{DT_PROJECT}",
                 "--connector", f"projects/{DT_PROJECT}/dataconnectors/{connector}", *FAST)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert fake_dt.project(DT_PROJECT).syncs == [connector]
    assert fake_dt.answered(f"/dataconnectors/{connector}:sync", 200)[0].method == "POST"


@pytest.mark.parametrize(("status", "message"), [("SYSTEM_DISABLED", "Enable it first"), (None, "404")])
def test_sync_fails_for_a_disabled_or_unknown_connector(pipeline, fake_dt, status, message):
    connector = add_connector(fake_dt, status, 0, 0) if status else "nosuchconnector"

    result = ops(pipeline, fake_dt, "sync", "--project", DT_PROJECT, "--connector", connector, *FAST)

    assert result.returncode == 1
    assert message in result.stderr
    assert fake_dt.project(DT_PROJECT).syncs == []


def test_enable_sets_a_system_disabled_connector_active_and_points_to_backfill(pipeline, fake_dt):
    connector = add_connector(fake_dt, "SYSTEM_DISABLED", 0, 0)

    result = ops(pipeline, fake_dt, "enable", "--project", DT_PROJECT, "--connector", connector, *FAST)

    assert result.returncode == 0, result.stderr
    assert fake_dt.project(DT_PROJECT).connectors[connector]["status"] == "ACTIVE"
    assert "was SYSTEM_DISABLED, now ACTIVE" in result.stdout
    assert f"dt-bigquery-ops backfill --project {DT_PROJECT} --since" in result.stdout


# replay-dead-letters ---------------------------------------------------------------------
def dead_letter(pipeline, topic: str, **attributes: str) -> dict:
    """A DT event as the router dead-letters it: data unchanged, attributes plus the reason."""
    document = json.loads(example_body("touch"))
    document["event"]["eventId"] = new_xid()
    body = json.dumps(document, separators=(",", ":")).encode()
    original = envelope.parse(body).attributes() | {"source": "webhook"}
    pipeline.publisher.publish(topic, body, **original, **attributes).result(timeout=10)
    return document


def test_replay_lists_then_republishes_dead_letters_and_acknowledges_them(pipeline, fake_dt):
    topic, subscription = topic_with_subscription(pipeline, "dead-letters")
    refused = dead_letter(pipeline, topic, deadLetterReason="BigQuery refused the row: no such field",
                          deadLetteredAt="2025-03-11T08:20:00+00:00", originalMessageId="17")  # fmt: skip
    exhausted = [
        dead_letter(
            pipeline,
            topic,
            CloudPubSubDeadLetterSourceDeliveryCount="5",
            CloudPubSubDeadLetterSourceSubscription="dt-events-to-route",
        )
        for _ in range(2)
    ]
    events = [refused["event"], *(document["event"] for document in exhausted)]
    replay = [
        "replay-dead-letters",
        "--subscription",
        subscription,
        "--topic",
        pipeline.topic_path,
        "--wait",
        "1",
    ]

    listed = ops(pipeline, fake_dt, *replay, "--dry-run", "--json")

    assert listed.returncode == 0, listed.stderr
    reasons = {m["eventId"]: m["deadLetterReason"] for m in summary(listed)["messages"]}
    assert reasons == {
        refused["event"]["eventId"]: "BigQuery refused the row: no such field",
        **{
            d["event"]["eventId"]: "not written after 5 delivery attempts (dead-lettered by Pub/Sub)"
            for d in exhausted
        },
    }
    [when] = [
        m["deadLetteredAt"]
        for m in summary(listed)["messages"]
        if m["eventId"] == refused["event"]["eventId"]
    ]
    assert when == "2025-03-11T08:20:00Z"
    assert summary(ops(pipeline, fake_dt, *replay, "--max", "2", "--json"))["replayed"] == 2
    rest = ops(pipeline, fake_dt, *replay)
    assert rest.returncode == 0 and "1 of 1 dead letters republished" in rest.stdout
    assert summary(ops(pipeline, fake_dt, *replay, "--dry-run", "--json"))["found"] == 0
    assert copies_in_views(pipeline, events) == {event["eventId"]: 1 for event in events}
    rows = pipeline.query(f"SELECT source, raw FROM {{dataset}}.touch WHERE event_id IN ({ids_sql(events)})")
    assert {row["source"] for row in rows} == {"replay"}
    assert sorted(row["raw"]["event"]["eventId"] for row in rows) == sorted(
        event["eventId"] for event in events
    )


def test_a_replayed_message_keeps_its_original_attributes_only():
    attributes = {
        "eventId": "e1", "eventType": "touch", "deviceId": "d1", "projectId": "p1", "timestamp": "t",
        "deviceType": "touch", "source": "webhook", "deadLetterReason": "r", "deadLetteredAt": "t",
        "originalMessageId": "17", "CloudPubSubDeadLetterSourceDeliveryCount": "5",
    }  # fmt: skip
    assert replay_attributes(attributes) == {
        "eventId": "e1", "eventType": "touch", "deviceId": "d1", "projectId": "p1", "timestamp": "t",
        "deviceType": "touch", "source": "replay",
    }  # fmt: skip


# DT API client and credentials -----------------------------------------------------------
def test_refused_credentials_fail_with_a_message_that_does_not_show_the_secret(pipeline, fake_dt):
    add_connector(fake_dt, "ACTIVE", 1, 0)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--no-bigquery", *FAST,
                 DT_API_KEY_SECRET="not-the-right-secret")  # fmt: skip

    assert result.returncode == 1
    assert "DT refused the service-account key" in result.stderr
    assert "not-the-right-secret" not in result.stderr + result.stdout


def test_missing_credentials_are_a_usage_error_naming_the_variables(capsys):
    code = cli.main(["sync", "--project", DT_PROJECT, "--connector", "c1"], env={"DT_API_KEY_ID": "k"})
    assert code == 2
    assert "DT_API_KEY_SECRET, DT_OIDC_EMAIL not set" in capsys.readouterr().err


def test_the_fake_accepts_the_token_request_of_dts_own_client(fake_dt):
    """Anchors the fake's token endpoint to DT's official implementation of the grant."""
    auth = disruptive.Auth.service_account(fake_dt.key_id, fake_dt.secret, fake_dt.email)
    auth.token_endpoint = fake_dt.token_endpoint
    assert auth.get_token().startswith("Bearer fake-access-token-")


def test_the_client_waits_as_long_as_retry_after_says_then_succeeds(fake_dt):
    add_device(fake_dt, "touch")
    fake_dt.fail("/devices", 429, retry_after="1")
    api = DtApi.from_env(fake_dt.env(), retry=RetryPolicy(initial_backoff=0.01))
    started = time.monotonic()
    assert len(api.list_devices(DT_PROJECT)) == 1
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in fake_dt.answered("/devices")] == [429, 200]


def test_the_client_gives_up_after_its_retries_with_the_last_answer(fake_dt):
    add_device(fake_dt, "touch")
    fake_dt.fail("/devices", 503, times=None)
    api = DtApi.from_env(fake_dt.env(), retry=RetryPolicy(max_retries=3, initial_backoff=0.01))
    with pytest.raises(DtApiError, match="failed after 4 attempts; last answer 503"):
        api.list_devices(DT_PROJECT)
    assert len(fake_dt.answered("/devices", 503)) == 4


@pytest.mark.parametrize("command", ["backfill", "health", "sync", "enable", "replay-dead-letters"])
def test_each_command_documents_its_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as exit_status:
        cli.main([command, "--help"])
    assert exit_status.value.code == 0
    assert "exit codes:\n  0" in capsys.readouterr().out
