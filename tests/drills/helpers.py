"""What the drills share: a DT-like burst sender that counts every answer, dead-letter
draining, the one-line CI summaries, and the record of every token sent (for the log scan)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from local.dt_signing import AsymmetricSigner, headers_for
from local.fleet import make_devices, plan
from local.pipeline import Pipeline
from tests.conftest import DRILL_FIGURES

# Every signature token any drill sent; test_4 checks that none of them reached a log.
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


def event_id(body: bytes) -> str:
    return json.loads(body)["event"]["eventId"]


@dataclass
class Burst:
    """What DT would see: every answer of every attempt, and each event's outcome."""

    events: int = 0
    requests: int = 0
    answers: Counter[int] = field(default_factory=Counter)  # HTTP status -> count
    no_answer: int = 0  # connection errors and timeouts
    retried_events: int = 0  # events that needed more than one attempt
    accepted: set[str] = field(default_factory=set)  # eventIds answered 2xx
    refused: dict[str, int] = field(default_factory=dict)  # eventId -> final 4xx status
    given_up: set[str] = field(default_factory=set)  # never 2xx within the time bound
    done: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.answers.items() if 200 <= status < 300)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.answers.items() if status >= 500)


def send_burst(
    url: str,
    bodies: list[bytes],
    secret: str,
    signer: AsymmetricSigner | None,
    concurrency: int = 16,
    time_bound: float = 150.0,
    after_each: Callable[[Burst], None] | None = None,
) -> Burst:
    """POST every body as DT does: signed afresh on every attempt, 5xx and no answer retried
    with backoff until a 2xx (or a 4xx, or `time_bound` seconds), `concurrency` at once."""
    burst = Burst(events=len(bodies))
    lock = threading.Lock()
    local = threading.local()
    started = time.monotonic()
    deadline = started + time_bound
    schemes: list[dict] = [{"secret": secret}]
    if signer is not None:
        schemes += [{"signer": signer}, {"secret": secret, "signer": signer}]

    def one(numbered: tuple[int, bytes]) -> None:
        number, body = numbered
        if not hasattr(local, "session"):
            local.session = requests.Session()
        identifier = event_id(body)
        attempt = 0
        while True:
            headers = headers_for(body, **schemes[number % len(schemes)])
            remember(headers)
            status = None
            try:
                status = local.session.post(url, data=body, headers=headers, timeout=30).status_code
            except requests.RequestException:
                local.session = requests.Session()
            with lock:
                burst.requests += 1
                if status is None:
                    burst.no_answer += 1
                else:
                    burst.answers[status] += 1
                if attempt == 1:
                    burst.retried_events += 1
            if status is not None and 200 <= status < 300:
                outcome = "accepted"
            elif status is not None and status < 500 and status != 429:
                outcome = "refused"
            elif time.monotonic() > deadline:
                outcome = "given up"
            else:
                time.sleep(min(2.0, 0.2 * 2**attempt))
                attempt += 1
                continue
            with lock:
                if outcome == "accepted":
                    burst.accepted.add(identifier)
                elif outcome == "refused":
                    burst.refused[identifier] = status  # type: ignore[assignment]
                else:
                    burst.given_up.add(identifier)
                burst.done += 1
            if after_each is not None:
                after_each(burst)
            return

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, enumerate(bodies)))
    burst.seconds = time.monotonic() - started
    return burst


def drain_dead_letters(pipeline: Pipeline, seconds: float = 3.0) -> list:
    """Pull (and ack) what the dead-letter subscription holds now, for up to `seconds`."""
    assert pipeline.subscriber is not None
    received = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = pipeline.subscriber.pull(
            subscription=pipeline.dead_letter_subscription_path, max_messages=500, timeout=2
        )
        if not answer.received_messages:
            break
        pipeline.subscriber.acknowledge(
            subscription=pipeline.dead_letter_subscription_path,
            ack_ids=[m.ack_id for m in answer.received_messages],
        )
        received += [m.message for m in answer.received_messages]
    return received


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


def wait_for_count(
    pipeline: Pipeline, project_id: str, expected: int, stall: float, limit: float = 900
) -> tuple[int, int]:
    """Poll until `expected` rows, while rows keep arriving: give up after `stall` seconds
    without a new row (a loaded machine is slow, a stuck pipeline stops), or `limit` in all."""
    started = last_progress = time.monotonic()
    counts = count_in_bigquery(pipeline, project_id)
    while counts[0] < expected:
        now = time.monotonic()
        if now - last_progress > stall or now - started > limit:
            break
        time.sleep(2)
        previous, counts = counts, count_in_bigquery(pipeline, project_id)
        if counts[0] > previous[0]:
            last_progress = time.monotonic()
    return counts
