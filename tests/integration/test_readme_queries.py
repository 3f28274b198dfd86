"""The example queries in the README, run as they are, find the events they are about.

The test sends its own events (devices named after this run, known values and times) and checks
each query's answer for those devices: rows other tests left in the shared pipeline can neither
make a query pass nor fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from local.dt_signing import headers_for, new_xid
from tests.support.bigquery import wait_for_rows
from tests.support.dt import SECRET
from tests.support.paths import ROOT

QUERIES = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
PROJECT = "readmequeries"
RUN = new_xid()[:8]  # names this run's devices and event type
NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = NOW.replace(minute=0, second=0) - timedelta(hours=3)  # an hour of temperature samples
DAY = (NOW - timedelta(days=2)).replace(hour=9, minute=0, second=0)  # a day of door events


def source_of(sql: str) -> str:
    """The view or table a README query reads (`FROM dt.<name>`)."""
    return re.search(r"FROM dt\.(\w+)", sql).group(1)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def device(kind: str) -> tuple[str, str]:
    """(device id, display name) of one of this run's devices."""
    return f"readme{RUN}{kind}", f"README {RUN} {kind}"


def event(kind: str, event_type: str, at: datetime, data: dict, **labels: str) -> bytes:
    device_id, name = device(kind)
    return json.dumps(
        {
            "event": {
                "eventId": new_xid(),
                "targetName": f"projects/{PROJECT}/devices/{device_id}",
                "eventType": event_type,
                "data": {
                    event_type: data | ({"updateTime": rfc3339(at)} if event_type != "labelsChanged" else {})
                },
                "timestamp": rfc3339(at),
            },
            "labels": {"name": name} | labels,
        },
        separators=(",", ":"),
    ).encode()


def temperature(at: datetime, samples: list[tuple[datetime, float]]) -> bytes:
    value = samples[0][1]
    listed = [{"value": v, "sampleTime": rfc3339(t)} for t, v in samples]
    return event("thermo", "temperature", at, {"value": value, "samples": listed, "isBackfilled": False})


SAMPLES = [  # (sample time, °C) of the thermometer: two in HOUR, one in the hour after
    (HOUR + timedelta(minutes=20), 21.0),
    (HOUR + timedelta(minutes=10), 20.0),
    (HOUR + timedelta(minutes=65), 25.0),
]
UNKNOWN_TYPE = f"readmeProbe{RUN}"
EVENTS = [
    temperature(SAMPLES[0][0], SAMPLES[:2]),
    temperature(SAMPLES[2][0], SAMPLES[2:]),  # last heard from ~2 h ago: silent
    event("fresh", "touch", NOW - timedelta(minutes=1), {}),  # just heard from: not silent
    event("door", "contact", DAY, {"state": "OPEN"}),
    event("door", "contact", DAY + timedelta(minutes=10), {"state": "CLOSED"}),
    event("door", "contact", DAY + timedelta(minutes=20), {"state": "OPEN"}),
    event("door", "contact", DAY - timedelta(days=1), {"state": "CLOSED"}),
    event("desk", "deskOccupancy", NOW - timedelta(hours=3), {"state": "OCCUPIED", "remarks": []}),
    event("desk", "deskOccupancy", NOW - timedelta(hours=2), {"state": "NOT_OCCUPIED", "remarks": []}),
    event("desk", "deskOccupancy", NOW - timedelta(hours=1), {"state": "OCCUPIED", "remarks": []}),
    event("probe1", UNKNOWN_TYPE, NOW - timedelta(hours=1), {"level": 1}, site="Oslo HQ"),
    event("probe2", UNKNOWN_TYPE, NOW - timedelta(hours=1), {"level": 2}, site="Oslo HQ"),
    event("probe3", UNKNOWN_TYPE, NOW - timedelta(hours=1), {"level": 3}, site="Bergen"),
]


def rows_of(rows: list[dict], kind: str, key: str = "device_name") -> list[dict]:
    return [row for row in rows if row[key] == device(kind)[1 if key == "device_name" else 0]]


def check_latest(rows: list[dict]) -> None:
    [row] = rows_of(rows, "thermo")
    assert (row["timestamp"], row["celsius"]) == SAMPLES[2]


def check_hourly(rows: list[dict]) -> None:
    found = [
        (r["hour"], r["avg_celsius"], r["min_celsius"], r["max_celsius"]) for r in rows_of(rows, "thermo")
    ]
    assert found == [(HOUR, 20.5, 20.0, 21.0), (HOUR + timedelta(hours=1), 25.0, 25.0, 25.0)]


def check_silent(rows: list[dict]) -> None:
    [row] = rows_of(rows, "thermo")
    assert row["last_seen"] == SAMPLES[2][0] and row["device_type"] is None  # bodies without metadata
    assert 60 < row["silent_minutes"] < 24 * 60
    assert not rows_of(rows, "fresh"), "a device heard from a minute ago is not silent"


def check_samples(rows: list[dict]) -> None:
    found = sorted((r["sample_time"], r["value"]) for r in rows_of(rows, "thermo", key="device_id"))
    assert found == sorted(SAMPLES)


def check_openings(rows: list[dict]) -> None:
    found = sorted((r["day"], r["openings"]) for r in rows_of(rows, "door"))
    midnight = DAY.replace(hour=0)
    assert found == [(midnight - timedelta(days=1), 0), (midnight, 2)]


def check_desks(rows: list[dict]) -> None:
    [row] = rows_of(rows, "desk")
    assert row["readings"] == 3 and row["occupied_share"] == pytest.approx(2 / 3)


def check_by_label(rows: list[dict]) -> None:
    assert [row["events"] for row in rows if row["event_type"] == UNKNOWN_TYPE] == [2]


CHECKS: dict[str, Callable[[list[dict]], Any]] = {
    "temperature_latest": check_latest,
    "temperature_hourly": check_hourly,
    "device_last_seen": check_silent,
    "temperature": check_samples,
    "contact": check_openings,
    "desk_occupancy": check_desks,
    "events": check_by_label,
}


def test_every_readme_query_is_checked():
    assert len(QUERIES) >= 7
    assert sorted(source_of(sql) for sql in QUERIES) == sorted(CHECKS)


@pytest.fixture(scope="module")
def seeded(pipeline) -> None:
    for body in EVENTS:
        response = requests.post(
            pipeline.ingest_url, data=body, headers=headers_for(body, secret=SECRET), timeout=30
        )
        assert response.status_code == 200, response.text
    ids = ", ".join(f"'{json.loads(body)['event']['eventId']}'" for body in EVENTS)
    landed = wait_for_rows(
        pipeline, f"SELECT event_id FROM {{dataset}}.events WHERE event_id IN ({ids})", len(EVENTS)
    )
    assert len(landed) == len(EVENTS)


@pytest.mark.parametrize("sql", QUERIES, ids=[source_of(sql) for sql in QUERIES])
def test_each_readme_query_finds_the_events_it_is_about(pipeline, seeded, sql):
    CHECKS[source_of(sql)](pipeline.query(sql))
