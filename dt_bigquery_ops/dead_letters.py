"""Replay dead letters: republish the messages kept in the dead-letter subscription to the ingest topic.

A message is dead-lettered by the router (with `deadLetterReason`) when it can never be written
as it is, or by Pub/Sub (with `CloudPubSubDeadLetterSource*`) after too many failed deliveries.
After the fix, replaying sends each one back unchanged (same data, its original attributes,
`source=replay`). A dead letter is acknowledged only once Pub/Sub confirmed its republication,
so a failure leaves it in the subscription; a republished event that had been written already
is absorbed by the deduplicating views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.cloud import pubsub_v1

from dt_bigquery_ops import output
from dt_bigquery_ops.deployed import publishing, timestamps
from dt_bigquery_ops.errors import OpsError
from dt_bigquery_ops.google_cloud import ConfirmingPublisher

SOURCE = "replay"
# invalidBody (ingest's mark of a signed body its envelope refused) is dropped too: a replay
# is parsed afresh, by code that may have learnt the new shape meanwhile.
_ROUTER_ATTRIBUTES = ("originalMessageId", "invalidBody")
_PUBSUB_PREFIX = "CloudPubSubDeadLetter"
_PULL_BATCH = 100
_HOLD_SECONDS = 120


def replay_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """The attributes the message had on the ingest topic, with `source=replay`."""
    kept = {
        key: value
        for key, value in attributes.items()
        if not key.startswith(("deadLetter", _PUBSUB_PREFIX)) and key not in _ROUTER_ATTRIBUTES
    }
    return kept | {"source": SOURCE}


def reason(attributes: dict[str, str]) -> str:
    if attributes.get("deadLetterReason"):
        return attributes["deadLetterReason"]
    # A BigQuery subscription's dead letters carry Pub/Sub's own reason.
    if attributes.get(f"{_PUBSUB_PREFIX}SourceDeliveryErrorMessage"):
        return attributes[f"{_PUBSUB_PREFIX}SourceDeliveryErrorMessage"]
    attempts = attributes.get(f"{_PUBSUB_PREFIX}SourceDeliveryCount")
    if attempts:
        return f"not written after {attempts} delivery attempts (dead-lettered by Pub/Sub)"
    return "unknown"


@dataclass(frozen=True)
class DeadLetter:
    ack_id: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    published_at: datetime | None

    @classmethod
    def from_received(cls, received: Any) -> DeadLetter:
        message = received.message
        return cls(
            received.ack_id,
            message.message_id,
            bytes(message.data),
            dict(message.attributes),
            message.publish_time,
        )

    def _dead_lettered_at(self) -> datetime | str | None:
        """The router's `deadLetteredAt`, else when Pub/Sub published it to the dead-letter topic."""
        text = self.attributes.get("deadLetteredAt")
        if not text:
            return self.published_at
        try:
            return timestamps.parse(text)
        except ValueError:
            return text

    def describe(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "eventId": self.attributes.get("eventId"),
            "eventType": self.attributes.get("eventType"),
            "deviceId": self.attributes.get("deviceId"),
            "source": self.attributes.get("source"),
            "deadLetterReason": reason(self.attributes),
            "deadLetteredAt": self._dead_lettered_at(),
            "bytes": len(self.data),
        }


class Replay:
    """Pull up to `max_messages` dead letters; list them (dry run) or republish and acknowledge them.

    Stops at `max_messages` or when a pull finds nothing within `wait_seconds`.
    """

    def __init__(
        self,
        subscriber: pubsub_v1.SubscriberClient,
        subscription: str,
        publisher: ConfirmingPublisher | None,
        max_messages: int | None = None,
        wait_seconds: float = 5.0,
    ) -> None:
        self.subscriber = subscriber
        self.subscription = subscription
        self.publisher = publisher
        self.max_messages = max_messages
        self.wait_seconds = wait_seconds
        self.seen: list[DeadLetter] = []
        self.replayed = 0

    @property
    def dry_run(self) -> bool:
        return self.publisher is None

    def run(self) -> None:
        held: list[str] = []  # dry run: released at the end, so that no message is listed twice
        try:
            while self.max_messages is None or len(self.seen) < self.max_messages:
                batch = self._pull(
                    _PULL_BATCH if self.max_messages is None else self.max_messages - len(self.seen)
                )
                if not batch:
                    break
                self.seen += batch
                if self.dry_run:
                    held += [letter.ack_id for letter in batch]
                else:
                    self._replay(batch)
        finally:
            if held:
                self._release(held)

    def _pull(self, count: int) -> list[DeadLetter]:
        try:
            response = self.subscriber.pull(
                subscription=self.subscription,
                max_messages=min(count, _PULL_BATCH),
                timeout=self.wait_seconds,
            )
        except google_exceptions.DeadlineExceeded:
            return []
        except Exception as error:
            raise OpsError(f"could not pull from {self.subscription}: {publishing.one_line(error)}") from None
        batch = [DeadLetter.from_received(received) for received in response.received_messages]
        if batch:
            try:
                self.subscriber.modify_ack_deadline(
                    subscription=self.subscription,
                    ack_ids=[letter.ack_id for letter in batch],
                    ack_deadline_seconds=_HOLD_SECONDS,
                )
            except Exception as error:
                raise OpsError(
                    f"could not hold {len(batch)} dead letters pulled from {self.subscription} "
                    f"(they stay there and return after their ack deadline): {publishing.one_line(error)}"
                ) from None
        return batch

    def _replay(self, batch: list[DeadLetter]) -> None:
        assert self.publisher is not None
        try:
            self.publisher.publish_all(
                [(letter.data, replay_attributes(letter.attributes)) for letter in batch]
            )
        except OpsError:
            self._release([letter.ack_id for letter in batch])
            raise
        try:
            self.subscriber.acknowledge(
                subscription=self.subscription, ack_ids=[letter.ack_id for letter in batch]
            )
        except Exception as error:
            raise OpsError(
                f"{len(batch)} dead letters were republished but not acknowledged in {self.subscription}; "
                f"they return and a new replay republishes them (the views show each event once): "
                f"{publishing.one_line(error)}"
            ) from None
        self.replayed += len(batch)

    def _release(self, ack_ids: list[str]) -> None:
        """Make messages deliverable again at once (they stay in the subscription)."""
        try:
            self.subscriber.modify_ack_deadline(
                subscription=self.subscription, ack_ids=ack_ids, ack_deadline_seconds=0
            )
        except Exception as error:
            output.warn(
                f"could not release {len(ack_ids)} messages; they return after their ack deadline: "
                f"{publishing.one_line(error)}"
            )

    def result(self) -> dict[str, Any]:
        """What the replay found and did, as `--json` prints it."""
        return {
            "subscription": self.subscription,
            "topic": None if self.publisher is None else self.publisher.topic,
            "dryRun": self.dry_run,
            "found": len(self.seen),
            "replayed": self.replayed,
            "messages": [letter.describe() for letter in self.seen],
        }

    def print_result(self) -> None:
        report = self.result()
        if self.seen:
            output.table(
                ["event id", "event type", "device", "dead-lettered at", "reason"],
                [
                    [m["eventId"], m["eventType"], m["deviceId"], m["deadLetteredAt"], m["deadLetterReason"]]
                    for m in report["messages"]
                ],
            )
            print()
        if self.dry_run:
            print(f"{len(self.seen)} dead letters in {self.subscription} (dry run: left in place)")
        else:
            print(
                f"{self.replayed} of {len(self.seen)} dead letters republished to {report['topic']} and acknowledged"
            )
