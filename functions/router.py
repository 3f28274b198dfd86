"""The `route` function: one Pub/Sub message (a DT event) → one row in the landing table.

Outcomes, decided here and only here:
- written: return normally, Pub/Sub acks;
- transient failure (BigQuery down or slow): raise, Pub/Sub redelivers with backoff (and
  dead-letters after the subscription's max delivery attempts);
- poison (no Pub/Sub message in the CloudEvent, not a DT event, a row BigQuery refuses or
  that can never fit one request): publish it to the dead-letter topic with the reason, then
  return so it is acked and never retried; if that publish fails, raise (retry, never loss).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime
from typing import Any

from cloudevents.http import CloudEvent

from . import catalogue, envelope, logs, rows
from .bigquery_writer import BatchWriter
from .config import RouterConfig
from .errors import InvalidBody, PoisonMessage
from .publishing import INVALID_BODY_ATTRIBUTE, Publisher, fit_attributes


class _Undeliverable(PoisonMessage):
    """A poison message, with the bytes to keep in the dead-letter topic."""

    def __init__(self, reason: str, body: bytes) -> None:
        super().__init__(reason)
        self.body = body


def _message_of(cloud_event: CloudEvent) -> dict[str, Any]:
    data = cloud_event.data
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        kept = json.dumps(data, default=str) if data is not None else ""
        raise _Undeliverable("the CloudEvent holds no Pub/Sub message", kept.encode())
    return message


def _attributes_of(message: dict[str, Any]) -> dict[str, str]:
    attributes = message.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def _body_of(message: dict[str, Any]) -> bytes:
    data = message.get("data") or ""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise _Undeliverable("the message data is not base64", str(data).encode()) from None


class Router:
    """The handler with its configuration, BigQuery writer and dead-letter publisher."""

    def __init__(self, config: RouterConfig, writer: BatchWriter | None = None) -> None:
        self.config = config
        self.writer = writer or BatchWriter(config)
        self.dead_letters = Publisher(timeout_seconds=config.dead_letter_timeout_seconds)
        self.summary = logs.Summary("route")
        logs.log("INFO", "route ready", dataset=f"{config.bigquery_project}.{config.bigquery_dataset}",
                 deadLetterTopic=config.dead_letter_topic, logLevel=config.log_level)  # fmt: skip

    def handle(self, cloud_event: CloudEvent) -> None:
        """The one place that decides a delivery's outcome: written (return), retry (raise),
        or dead-letter (publish, then return; a failed publish raises, so it is retried)."""
        message: dict[str, Any] = {}
        body = b""
        started = time.monotonic()
        try:
            message = _message_of(cloud_event)
            body = _body_of(message)
            event_type = self._write(message, _attributes_of(message), body)
            self.summary.count("written", event_type, time.monotonic() - started)
            return
        except PoisonMessage as poison:
            reason = poison.reason
            if isinstance(poison, _Undeliverable):
                body = poison.body
        except Exception as error:
            attributes = _attributes_of(message)
            self.summary.count("failed", type(error).__name__)
            logs.log("WARNING", "write failed; Pub/Sub will redeliver", error=f"{type(error).__name__}: {error}",
                     eventId=attributes.get("eventId"), messageId=message.get("messageId"))  # fmt: skip
            raise
        self._dead_letter(message, _attributes_of(message), body, reason)

    def _write(self, message: dict[str, Any], attributes: dict[str, str], body: bytes) -> str:
        """Write the event's row; return its event type (what the summary counts)."""
        if INVALID_BODY_ATTRIBUTE in attributes:  # signed by DT, refused by ingest's envelope check
            raise PoisonMessage(f"not a DT event (kept by ingest): {attributes[INVALID_BODY_ATTRIBUTE]}")
        try:
            event = envelope.parse(body)
        except InvalidBody as error:
            raise PoisonMessage(f"not a DT event: {error.message}") from None
        table = catalogue.table_for(event.event_type)
        row = rows.build(
            table,
            event,
            body,
            source=attributes.get("source"),
            message_id=message.get("messageId"),
            published_at=message.get("publishTime"),
            ingested_at=datetime.now(UTC),
        )
        self.writer.write(row, event.event_id)
        if logs.debug_enabled():
            logs.log("DEBUG", "event written", eventId=event.event_id, eventType=event.event_type,
                     table=table.name, messageId=message.get("messageId"))  # fmt: skip
        return event.event_type

    def _dead_letter(
        self, message: dict[str, Any], attributes: dict[str, str], body: bytes, reason: str
    ) -> None:
        """Keep the message, unchanged, with the reason: it can be inspected and replayed.

        Raises (so the delivery is retried, never acked) when the publish is not confirmed.
        """
        dead_attributes = fit_attributes(attributes, kept={
            "deadLetterReason": reason,
            "deadLetteredAt": datetime.now(UTC).isoformat(),
            "originalMessageId": str(message.get("messageId", "")),
        })  # fmt: skip
        try:
            self._publish_dead_letter(body, dead_attributes)
        except Exception as error:
            logs.log("ERROR", "dead-letter publish failed; Pub/Sub will redeliver", reason=reason,
                     error=f"{type(error).__name__}: {error}", eventId=attributes.get("eventId"),
                     messageId=message.get("messageId"))  # fmt: skip
            raise
        self.summary.count("deadLettered", reason.split(":")[0][:80])
        logs.log("WARNING", "message dead-lettered", reason=reason, eventId=attributes.get("eventId"),
                 messageId=message.get("messageId"))  # fmt: skip

    def _publish_dead_letter(self, body: bytes, attributes: dict[str, str]) -> None:
        """The router's only use of the publishing module."""
        self.dead_letters.publish(self.config.dead_letter_topic, body, attributes)
