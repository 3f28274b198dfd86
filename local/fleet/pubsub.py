"""Publish DT events as DT's Pub/Sub Data Connector (GOOGLE_CLOUD_PUBSUB) would: straight to the
events topic, with no ingest function in between.

DT does not document the message it publishes. The router accepts both shapes DT may use, so
this publishes both, alternately by default: the HTTP_PUSH body (`{"event", "labels",
"metadata"}`) and the bare inner event (`{"eventId", "targetName", "eventType", "data",
"timestamp"}`). It sets no attributes: the router must not need any (the worst case).
Publishing goes to the emulator when PUBSUB_EMULATOR_HOST is set, else to Google with the
Application Default Credentials.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from google.cloud import pubsub_v1

from local.fleet import PlannedEvent, Report

SHAPES = ("both", "push", "event")


def message_data(body: bytes, shape: str) -> bytes:
    """The message data DT may publish for an HTTP_PUSH `body`: the body itself, or its inner event."""
    if shape == "push":
        return body
    if shape == "event":
        return json.dumps(json.loads(body)["event"], separators=(",", ":")).encode()
    raise ValueError(f"shape must be 'push' or 'event', not {shape!r}")


class PubSubConnector:
    """Publishes planned events to `topic` (projects/<p>/topics/<t>), each once, as DT would."""

    def __init__(self, topic: str, shape: str = "both", timeout_seconds: float = 60) -> None:
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}, not {shape!r}")
        self.topic, self.shape, self.timeout_seconds = topic, shape, timeout_seconds
        self.publisher = pubsub_v1.PublisherClient()

    def shape_of(self, number: int) -> str:
        return ("push", "event")[number % 2] if self.shape == "both" else self.shape

    def publish(self, body: bytes, number: int = 0) -> Future:
        return self.publisher.publish(self.topic, message_data(body, self.shape_of(number)))

    def send_all(
        self, events: list[PlannedEvent], progress: Callable[[int, int], None] | None = None
    ) -> Report:
        """Publish every event; an event counts as accepted once Pub/Sub confirmed it."""
        report = Report()
        lock = threading.Lock()
        started = time.monotonic()
        done = 0

        def confirmed(event: PlannedEvent, future: Future) -> None:
            nonlocal done
            ok = future.exception() is None
            event_id = json.loads(event.body)["event"]["eventId"]
            with lock:
                if event.kind == "duplicate":
                    report.duplicates += 1
                    report.duplicate_id, report.duplicate_type = event_id, event.event_type
                else:
                    report.sent[event.event_type] += 1
                    (report.accepted if ok else report.refused)[event.event_type] += 1
                    if ok:
                        report.accepted_ids.add(event_id)
                report.unknown += event.kind == "unknown"
                report.backfilled += event.kind == "backfilled"
                done += 1
                if progress:
                    progress(done, len(events))

        futures = []
        for number, event in enumerate(events):
            future = self.publish(event.body, number)
            future.add_done_callback(lambda future, event=event: confirmed(event, future))
            futures.append(future)
        for future in futures:
            with contextlib.suppress(Exception):  # counted as refused by its callback
                future.result(timeout=self.timeout_seconds)
        deadline = time.monotonic() + 5
        while done < len(events) and time.monotonic() < deadline:  # the callbacks run on other threads
            time.sleep(0.01)
        report.seconds = time.monotonic() - started
        return report
