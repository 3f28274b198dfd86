"""What the drills share: a DT-like burst sender that counts every answer, dead-letter
draining, the one-line CI summaries, and the record of every token sent (for the log scan)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from local.fleet import make_devices, plan
from local.pipeline import Pipeline
from local.reading import pull_and_ack, wait_for_count

DRILL_FIGURES = "drill figures"  # the user property a drill's one-line summary travels in
# Every signature token any drill sent; test_4_5_aftermath.py checks that none of them reached a log.
TOKENS: set[str] = set()
_TOKENS_LOCK = threading.Lock()


def remember(headers: dict[str, str] | Iterable[tuple[str, str]]) -> None:
    items = headers.items() if isinstance(headers, dict) else headers
    with _TOKENS_LOCK:
        TOKENS.update(value for name, value in items if "signature" in name.lower() and value)


def summary(record_property: Callable[[str, object], None], drill: str, **counts: object) -> None:
    """One line per drill, printed at the end of the run (tests/conftest.py), so CI logs show the
    figures even when the drills pass."""
    text = ", ".join(f"{name.replace('_', ' ')}={value}" for name, value in counts.items())
    record_property(DRILL_FIGURES, f"[drill] {drill}: {text}")


def fleet_bodies(count: int, project_id: str, seed: int) -> list[bytes]:
    """At least `count` realistic DT bodies of every event type, each with its own eventId."""
    devices = make_devices(4, project_id, seed)  # 48 devices
    per_device = max(1, -(-count // len(devices)))
    events = plan(devices, per_device, timedelta(hours=24), datetime.now(UTC))
    return [event.body for event in events if event.kind != "duplicate"]


def drain_dead_letters(pipeline: Pipeline, seconds: float = 3.0) -> list:
    """Pull (and ack) what the dead-letter subscription holds now, for up to `seconds`."""
    assert pipeline.subscriber is not None
    return pull_and_ack(
        pipeline.subscriber, pipeline.dead_letter_subscription_path, timeout=seconds, max_messages=500
    )


def route_failures(pipeline: Pipeline) -> list[dict]:
    """The router's failed deliveries so far: the route function's 'write failed; Pub/Sub will
    redeliver' log entries, or the BigQuery subscription's (stand-in's) failed deliveries."""
    if pipeline.bigquery_subscription is not None:
        return list(pipeline.bigquery_subscription.failures)
    text = (pipeline.work_dir / "logs" / "route.log").read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if "Pub/Sub will redeliver" in line]


def count_in_bigquery(pipeline: Pipeline, project_id: str) -> tuple[int, int]:
    """(rows, distinct event ids) of `project_id` in the deduplicating `events` view."""
    [row] = pipeline.query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS d FROM {dataset}.events "
        f"WHERE project_id = '{project_id}'"
    )
    return int(row["n"]), int(row["d"])


def wait_for_events(
    pipeline: Pipeline, project_id: str, expected: int, stall: float, limit: float = 900
) -> tuple[int, int]:
    """Poll until `expected` rows, while rows keep arriving: give up after `stall` seconds
    without a new row (a loaded machine is slow, a stuck pipeline stops), or `limit` in all."""
    wait_for_count(lambda: count_in_bigquery(pipeline, project_id)[0], expected, limit, stall, interval=2)
    return count_in_bigquery(pipeline, project_id)
