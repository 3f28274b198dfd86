"""Helpers of the operations tool's tests: run the installed CLI against the fake DT API and
the emulators, and fill the fake with devices, events and connectors shaped as DT's.

Each command runs as the installed console script in .venv-ops (a venv made from the ops
requirements only), as an operator or cron would run it; DT is `FakeDtApi`, Pub/Sub and BigQuery
are the emulators of the `pipeline` fixture with both functions serving.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from functions import envelope, timestamps
from local.dt_signing import new_xid
from tests.support.bigquery import wait_for_rows
from tests.support.dt import example_body
from tests.support.fake_dt_api import FakeDtApi
from tests.support.paths import OPS_CLI, ROOT

DT_PROJECT = "c0md3mm0c7pet3vico8g"
FAST = ["--rate", "200", "--backoff", "0.01"]
NOW = datetime.now(UTC).replace(microsecond=0)
SINCE, UNTIL = NOW - timedelta(hours=3), NOW - timedelta(hours=1)


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


def dead_letter(pipeline, topic: str, **attributes: str) -> dict:
    """A DT event as the router dead-letters it: data unchanged, attributes plus the reason."""
    document = json.loads(example_body("touch"))
    document["event"]["eventId"] = new_xid()
    body = json.dumps(document, separators=(",", ":")).encode()
    original = envelope.parse(body).attributes() | {"source": "webhook"}
    pipeline.publisher.publish(topic, body, **original, **attributes).result(timeout=10)
    return document
