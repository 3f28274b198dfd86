"""The DT-like sender of the drills: the fleet's HTTP sender (local/fleet/http.py), retrying as DT
does until a time bound, that also counts every answer of every attempt and each event's outcome."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from local.dt_signing import AsymmetricSigner
from local.fleet import HttpSender, PlannedEvent
from tests.support.drills import remember


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


class _BurstSender(HttpSender):
    """Tallies a `Burst` and remembers every signature token sent (for the log scan)."""

    def __init__(self, burst: Burst, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.burst = burst
        self._tally = threading.Lock()

    def _attempted(self, headers: dict[str, str], answer: requests.Response | None) -> None:
        remember(headers)
        with self._tally:
            self.burst.requests += 1
            if answer is None:
                self.burst.no_answer += 1
            else:
                self.burst.answers[answer.status_code] += 1

    def _finished(self, event: PlannedEvent, answer: requests.Response | None, retries: int) -> None:
        with self._tally:
            self.burst.retried_events += retries > 0
            if answer is not None and answer.status_code < 300:
                self.burst.accepted.add(event.event_id)
            elif answer is not None and answer.status_code < 500 and answer.status_code != 429:
                self.burst.refused[event.event_id] = answer.status_code
            else:
                self.burst.given_up.add(event.event_id)


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
    sender = _BurstSender(
        burst, url=url, secret=secret, signer=signer, concurrency=concurrency, max_attempts=None,
        time_bound=time_bound,
    )  # fmt: skip

    def progress(done: int, total: int) -> None:
        burst.done = done
        if after_each is not None:
            after_each(burst)

    report = sender.send_all([PlannedEvent.from_body(body) for body in bodies], progress)
    burst.seconds = report.seconds
    return burst
