"""Drills 4 and 5, after all the others: no secret in any log, no memory leak in `ingest`."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from tests.support.drills import TOKENS, route_failures, summary
from tests.support.dt import SECRET

_BASE64URL_RUN = re.compile(r"[A-Za-z0-9_-]{16,}")
_EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@pytest.mark.drill
def test_no_secret_and_no_token_in_any_server_log(drill, record_property):
    logs = drill.pipeline.work_dir / "logs"
    texts = {name: (logs / name).read_text(errors="replace") for name in ("ingest.log", "route.log")}
    # Each token's parts (header.payload.signature); the headers are shared by many tokens and
    # say nothing secret, the payloads and signatures are unique to one request.
    parts = {part for token in TOKENS for part in token.split(".")[1:] if len(part) >= 16}
    found = {name: sorted(set(_BASE64URL_RUN.findall(text)) & parts)[:3] for name, text in texts.items()}
    secret_in = [name for name, text in texts.items() if SECRET in text]
    summary(
        record_property,
        "secrets in logs",
        tokens_sent=len(TOKENS),
        log_bytes=sum(len(text) for text in texts.values()),
        secret_found_in=secret_in,
        token_parts_found=sum(len(parts) for parts in found.values()),
    )
    assert len(TOKENS) > 1_000
    assert not secret_in
    assert not any(found.values()), found


@pytest.mark.drill
@pytest.mark.timeout(900)  # waits while failed events keep landing
def test_route_log_figures(drill, record_property):
    """What the router went through (for the CI log), and what must hold of it: every failed
    delivery is logged with its cause, and every event that failed is now in BigQuery or was
    dead-lettered (a failure is a retry, never a loss)."""
    failures = route_failures(drill.pipeline)
    errors = Counter(str(f.get("error", ""))[:90] for f in failures).most_common(3)
    failed = {f["eventId"] for f in failures if f.get("eventId")}
    dead = {letter.attributes.get("eventId") for letter in drill.dead_letters}
    # The last retries may still be on their way: wait while the pipeline keeps landing events.
    lost = sorted(failed - dead - in_bigquery(drill.pipeline, failed - dead))
    rows, last_progress = landed_rows(drill.pipeline), time.monotonic()
    while lost and time.monotonic() - last_progress < 90:
        time.sleep(2)
        lost = sorted(failed - dead - in_bigquery(drill.pipeline, failed - dead))
        if (now_rows := landed_rows(drill.pipeline)) > rows:
            rows, last_progress = now_rows, time.monotonic()
    summary(record_property, "route log", failed_deliveries=len(failures), distinct_events_failed=len(failed),
            top_errors=errors, failed_then_lost=len(lost))  # fmt: skip
    assert all(f.get("error") for f in failures), "a failed delivery was logged without its cause"
    assert not lost, (
        f"{len(lost)} events failed in the router and are neither in BigQuery nor dead-lettered: {lost[:5]}"
    )


def landed_rows(pipeline) -> int:
    [row] = pipeline.query("SELECT COUNT(*) AS n FROM {dataset}.events")
    return int(row["n"])


def in_bigquery(pipeline, event_ids: set[str]) -> set[str]:
    """Which of `event_ids` the deduplicating `events` view holds."""
    ids = sorted(i for i in event_ids if _EVENT_ID.fullmatch(i))
    assert len(ids) == len(event_ids), "an eventId in the route log is not DT-shaped"
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        listed = ", ".join(f"'{i}'" for i in ids[start : start + 500])
        rows = pipeline.query(f"SELECT event_id FROM {{dataset}}.events WHERE event_id IN ({listed})")
        found |= {row["event_id"] for row in rows}
    return found


@pytest.mark.drill
def test_ingest_memory_after_the_drills_is_within_20_percent_of_after_warm_up(drill, record_property):
    after = drill.pipeline.ingest.rss_bytes()
    before = drill.rss_after_warm_up
    summary(record_property, "ingest RSS", after_warm_up_MiB=round(before / 2**20, 1), after_drills_MiB=round(after / 2**20, 1),
            growth_percent=round(100 * (after - before) / before, 1))  # fmt: skip
    assert after <= before * 1.2
