"""`dt-bigquery-ops health`, run as an operator runs it (tests/support/ops.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from functions import timestamps
from local.dt_signing import headers_for, new_xid
from tests.support.dt import SECRET, example_body
from tests.support.ops import (
    DT_PROJECT,
    FAST,
    NOW,
    add_connector,
    copies_in_views,
    ops,
    summary,
)


def test_health_reports_status_metrics_and_the_newest_row_per_event_type(pipeline, fake_dt):
    connector = add_connector(fake_dt, "ACTIVE", successes=95, errors=1)
    event = json.loads(example_body("temperature"))
    event["event"].update(
        eventId=new_xid(),
        timestamp=timestamps.to_rfc3339(NOW - timedelta(minutes=1)),
        targetName=f"projects/{DT_PROJECT}/devices/{new_xid()}",  # health reads its own DT project's rows
    )
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


def test_refused_credentials_fail_with_a_message_that_does_not_show_the_secret(pipeline, fake_dt):
    add_connector(fake_dt, "ACTIVE", 1, 0)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--no-bigquery", *FAST,
                 DT_API_KEY_SECRET="not-the-right-secret")  # fmt: skip

    assert result.returncode == 1
    assert "DT refused the service-account key" in result.stderr
    assert "not-the-right-secret" not in result.stderr + result.stdout
