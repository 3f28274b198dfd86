"""The base of the fleet's senders: send planned events, tally what the far end confirmed.

A variant (`local/fleet/http.py` as DT's HTTP_PUSH connector, `local/fleet/pubsub.py` as its
GOOGLE_CLOUD_PUBSUB connector) implements only `_send_each`; the tally, the progress and the
timing are kept here, once.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from local.fleet.model import PlannedEvent, Report

Progress = Callable[[int, int], None]  # (events done, events in all)
Confirm = Callable[[PlannedEvent, bool, int], None]  # (event, confirmed, retries)


class Sender(ABC):
    """Sends planned events; `send_all` returns the `Report` of what was confirmed."""

    # How long `send_all` waits for confirmations still on their way (Pub/Sub's callbacks run
    # on other threads) once `_send_each` returned.
    settle_seconds = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send_all(self, events: list[PlannedEvent], progress: Progress | None = None) -> Report:
        report = Report()
        started = time.monotonic()
        done = 0
        all_done = threading.Event()

        def confirm(event: PlannedEvent, ok: bool, retries: int) -> None:
            nonlocal done
            with self._lock:
                report.record(event, ok, retries)
                done += 1
                if progress:
                    progress(done, len(events))
                if done == len(events):
                    all_done.set()

        if events:
            self._send_each(events, confirm)
            all_done.wait(self.settle_seconds)
        report.seconds = time.monotonic() - started
        return report

    @abstractmethod
    def _send_each(self, events: list[PlannedEvent], confirm: Confirm) -> None:
        """Send every event, calling `confirm` once for each (from any thread)."""
