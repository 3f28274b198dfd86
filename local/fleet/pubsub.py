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
import functools
import json
from concurrent.futures import Future
from enum import StrEnum

from google.cloud import pubsub_v1

from local.fleet.model import PlannedEvent
from local.fleet.sender import Confirm, Sender


class Shape(StrEnum):
    """The message data DT's Pub/Sub connector may publish for an event."""

    BOTH = "both"  # PUSH and EVENT alternately
    PUSH = "push"  # the HTTP_PUSH body
    EVENT = "event"  # the bare inner event


def message_data(body: bytes, shape: Shape | str) -> bytes:
    """The message data DT may publish for an HTTP_PUSH `body`: the body itself, or its inner event."""
    if shape == Shape.PUSH:
        return body
    if shape == Shape.EVENT:
        return json.dumps(json.loads(body)["event"], separators=(",", ":")).encode()
    raise ValueError(f"shape must be 'push' or 'event', not {shape!r}")


class PubSubSender(Sender):
    """Publishes planned events to `topic` (projects/<p>/topics/<t>), each once, as DT would; an
    event counts as accepted once Pub/Sub confirmed it."""

    def __init__(self, topic: str, shape: Shape | str = Shape.BOTH, timeout_seconds: float = 60) -> None:
        super().__init__()
        try:
            self.shape = Shape(shape)
        except ValueError:
            raise ValueError(f"shape must be one of {', '.join(Shape)}, not {shape!r}") from None
        self.topic, self.timeout_seconds = topic, timeout_seconds
        self.publisher = pubsub_v1.PublisherClient()

    def shape_of(self, number: int) -> Shape:
        return (Shape.PUSH, Shape.EVENT)[number % 2] if self.shape == Shape.BOTH else self.shape

    def publish(self, body: bytes, number: int = 0) -> Future:
        return self.publisher.publish(self.topic, message_data(body, self.shape_of(number)))

    def _send_each(self, events: list[PlannedEvent], confirm: Confirm) -> None:
        futures = []
        for number, event in enumerate(events):
            future = self.publish(event.body, number)
            future.add_done_callback(functools.partial(self._confirmed, confirm, event))
            futures.append(future)
        for future in futures:
            with contextlib.suppress(Exception):  # counted as refused by its callback
                future.result(timeout=self.timeout_seconds)

    @staticmethod
    def _confirmed(confirm: Confirm, event: PlannedEvent, future: Future) -> None:
        confirm(event, future.exception() is None, 0)
