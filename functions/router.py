"""The `route` function: one Pub/Sub message (a DT event) → one row in its typed table.

Outcomes, decided here and only here:
- written: return normally, Pub/Sub acks;
- transient failure (BigQuery down or slow): raise, Pub/Sub redelivers with backoff (and
  dead-letters after the subscription's max delivery attempts);
- poison (not a DT event, or a row BigQuery refuses): publish it to the dead-letter topic
  with the reason, then return so it is acked and never retried.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from cloudevents.http import CloudEvent

from functions import catalogue, envelope, logs, rows
from functions.bigquery_writer import BatchWriter
from functions.config import RouterConfig
from functions.errors import InvalidBody, PoisonMessage
from functions.publishing import Publisher


def _message_of(cloud_event: CloudEvent) -> dict[str, Any]:
    data = cloud_event.data
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise PoisonMessage("the CloudEvent holds no Pub/Sub message")
    return message


class Router:
    """The handler with its configuration, BigQuery writer and dead-letter publisher."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.writer = BatchWriter(config)
        self.dead_letters = Publisher(timeout_seconds=30)

    def handle(self, cloud_event: CloudEvent) -> None:
        message = _message_of(cloud_event)
        attributes = message.get("attributes") or {}
        data = message.get("data") or ""
        try:
            body = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError, TypeError):
            self._dead_letter(message, attributes, str(data).encode(), "the message data is not base64")
            return
        try:
            self._write(message, attributes, body)
        except PoisonMessage as poison:
            self._dead_letter(message, attributes, body, poison.reason)
        except Exception as error:
            logs.log("WARNING", "write failed; Pub/Sub will redeliver", error=f"{type(error).__name__}: {error}",
                     eventId=attributes.get("eventId"), messageId=message.get("messageId"))  # fmt: skip
            raise

    def _write(self, message: dict[str, Any], attributes: dict[str, str], body: bytes) -> None:
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
        self.writer.write(table.log_table, row, event.event_id)
        logs.log("INFO", "event written", eventId=event.event_id, eventType=event.event_type,
                 table=table.log_table, messageId=message.get("messageId"))  # fmt: skip

    def _dead_letter(
        self, message: dict[str, Any], attributes: dict[str, str], body: bytes, reason: str
    ) -> None:
        """Keep the message, unchanged, with the reason: it can be inspected and replayed."""
        dead_attributes = {key: str(value)[:1024] for key, value in attributes.items()} | {
            "deadLetterReason": reason[:1024],
            "deadLetteredAt": datetime.now(UTC).isoformat(),
            "originalMessageId": str(message.get("messageId", "")),
        }
        self.dead_letters.publish(self.config.dead_letter_topic, body, dead_attributes)
        logs.log("WARNING", "message dead-lettered", reason=reason, eventId=attributes.get("eventId"),
                 messageId=message.get("messageId"))  # fmt: skip
