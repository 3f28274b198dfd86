"""The fleet's HTTP sender, as DT's HTTP_PUSH connector sends: signed afresh on every attempt,
5xx, 429 and no answer retried with backoff until a 2xx or another 4xx (bounded here, by
attempts or by time), several requests at once, at an optional rate."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from local.dt_signing import AsymmetricSigner, headers_for
from local.fleet.model import PlannedEvent
from local.fleet.sender import Confirm, Sender


def retried(status: int) -> bool:
    """Whether DT retries an answer with this status (it does until a 2xx; a 4xx ends it, but 429)."""
    return status >= 500 or status == 429


class HttpSender(Sender):
    """POSTs planned events to `url`, `concurrency` at once; each event until a final answer,
    or `max_attempts` attempts, or `time_bound` seconds after `send_all` started (None: no bound).

    Subclasses can watch every attempt (`_attempted`) and every event's last answer (`_finished`).
    """

    def __init__(
        self,
        url: str,
        secret: str | None,
        signer: AsymmetricSigner | None,
        concurrency: int = 8,
        rate: float = 0.0,
        max_attempts: int | None = 5,
        time_bound: float | None = None,
    ) -> None:
        super().__init__()
        if secret is None and signer is None:
            raise ValueError("the HTTP sender needs the signature secret, a DT signer, or both")
        self.url, self.secret, self.signer = url, secret, signer
        self.concurrency, self.rate = concurrency, rate
        self.max_attempts, self.time_bound = max_attempts, time_bound
        self._local = threading.local()
        self._next_slot = time.monotonic()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _wait_for_slot(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            slot = max(self._next_slot, time.monotonic())
            self._next_slot = slot + 1 / self.rate
        time.sleep(max(0.0, slot - time.monotonic()))

    def _signing(self, number: int) -> dict[str, Any]:
        """Alternate the schemes DT uses: shared secret, asymmetric, or both."""
        if self.signer is None:
            return {"secret": self.secret}
        if self.secret is None:
            return {"signer": self.signer}
        schemes: list[dict[str, Any]] = [
            {"secret": self.secret},
            {"signer": self.signer},
            {"secret": self.secret, "signer": self.signer},
        ]
        return schemes[number % 3]

    def post(
        self, payload: bytes, number: int = 0, give_up_at: float | None = None
    ) -> tuple[requests.Response | None, int]:
        """Send until a final answer, or the attempts or the time (`give_up_at`, monotonic) run
        out; returns the last answer (None: none came) and the number of retries."""
        attempt = 0
        while True:
            self._wait_for_slot()
            headers = headers_for(payload, **self._signing(number))
            answer: requests.Response | None = None
            try:
                answer = self._session().post(self.url, data=payload, headers=headers, timeout=30)
            except requests.RequestException:
                self._local.session = requests.Session()  # a fresh connection for the retry
            self._attempted(headers, answer)
            if answer is not None and not retried(answer.status_code):
                return answer, attempt
            out_of_attempts = self.max_attempts is not None and attempt + 1 >= self.max_attempts
            if out_of_attempts or (give_up_at is not None and time.monotonic() > give_up_at):
                return answer, attempt
            time.sleep(min(2.0, 0.2 * 2**attempt))
            attempt += 1

    def _send_each(self, events: list[PlannedEvent], confirm: Confirm) -> None:
        give_up_at = None if self.time_bound is None else time.monotonic() + self.time_bound

        def one(numbered: tuple[int, PlannedEvent]) -> None:
            number, event = numbered
            answer, retries = self.post(event.body, number, give_up_at)
            self._finished(event, answer, retries)
            confirm(event, answer is not None and answer.status_code < 300, retries)

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(one, enumerate(events)))

    def _attempted(self, headers: dict[str, str], answer: requests.Response | None) -> None:
        """Called after every attempt (`answer` None: no answer came)."""

    def _finished(self, event: PlannedEvent, answer: requests.Response | None, retries: int) -> None:
        """Called with each event's last answer, before it is counted."""
