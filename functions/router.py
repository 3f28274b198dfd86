"""The `route` function: one Pub/Sub push request (a DT event) → one row in the landing table.

Outcomes, decided here and only here, answered to Pub/Sub's push (2xx acks, anything else is
redelivered with backoff, and dead-lettered after the subscription's max delivery attempts):
- written: 200;
- transient failure (BigQuery down or slow): 500, redelivered;
- poison (not a DT event, a row BigQuery refuses or that can never fit one request): publish it
  to the dead-letter topic with the reason, then 200 so it is never retried; if that publish
  fails, 500 (retry, never loss);
- not a push request at all (no `message`, data not base64: not from Pub/Sub): 400 with the
  reason; there is no message to keep.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from . import catalogue, envelope, logs, push, rows
from .bigquery_writer import BatchWriter
from .config import RouterConfig
from .errors import InvalidBody, PoisonMessage
from .publishing import INVALID_BODY_ATTRIBUTE, Publisher, fit_attributes

WRITTEN = ("OK", 200)
RETRY = ("not written; Pub/Sub will redeliver", 500)


class Router:
    """The handler with its configuration, BigQuery writer and dead-letter publisher."""

    def __init__(self, config: RouterConfig, writer: BatchWriter | None = None) -> None:
        self.config = config
        self.writer = writer or BatchWriter(config)
        self.dead_letters = Publisher(timeout_seconds=config.dead_letter_timeout_seconds)
        self.summary = logs.Summary("route")
        logs.log("INFO", "route ready", dataset=f"{config.bigquery_project}.{config.bigquery_dataset}",
                 deadLetterTopic=config.dead_letter_topic, logLevel=config.log_level)  # fmt: skip

    def respond(self, body: bytes) -> tuple[str, int]:
        """The answer to one push request: (text, HTTP status)."""
        try:
            message = push.parse(body)
        except push.BadPushRequest as error:
            self.summary.count("refused", error.reason)
            logs.log("WARNING", "not a Pub/Sub push request; answered 400", reason=error.reason)
            return f"not a Pub/Sub push request: {error.reason}", 400
        try:
            self.handle(message)
        except Exception:  # logged by handle
            return RETRY
        return WRITTEN

    def handle(self, message: push.PushedMessage) -> None:
        """The one place that decides a delivery's outcome: written (return), retry (raise),
        or dead-letter (publish, then return; a failed publish raises, so it is retried)."""
        started = time.monotonic()
        try:
            event_type = self._write(message)
            self.summary.count("written", event_type, time.monotonic() - started)
            return
        except PoisonMessage as poison:
            reason = poison.reason
        except Exception as error:
            self.summary.count("failed", type(error).__name__)
            logs.log("WARNING", "write failed; Pub/Sub will redeliver", error=f"{type(error).__name__}: {error}",
                     eventId=message.attributes.get("eventId"), messageId=message.message_id)  # fmt: skip
            raise
        self._dead_letter(message, reason)

    def _write(self, message: push.PushedMessage) -> str:
        """Write the event's row; return its event type (what the summary counts)."""
        attributes, body = message.attributes, message.data
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
            message_id=message.message_id,
            published_at=message.publish_time,
            ingested_at=datetime.now(UTC),
        )
        self.writer.write(row, event.event_id)
        if logs.debug_enabled():
            logs.log("DEBUG", "event written", eventId=event.event_id, eventType=event.event_type,
                     table=table.name, messageId=message.message_id)  # fmt: skip
        return event.event_type

    def _dead_letter(self, message: push.PushedMessage, reason: str) -> None:
        """Keep the message, unchanged, with the reason: it can be inspected and replayed.

        Raises (so the delivery is retried, never acked) when the publish is not confirmed.
        """
        attributes = message.attributes
        dead_attributes = fit_attributes(attributes, kept={
            "deadLetterReason": reason,
            "deadLetteredAt": datetime.now(UTC).isoformat(),
            "originalMessageId": message.message_id or "",
        })  # fmt: skip
        try:
            self._publish_dead_letter(message.data, dead_attributes)
        except Exception as error:
            logs.log("ERROR", "dead-letter publish failed; Pub/Sub will redeliver", reason=reason,
                     error=f"{type(error).__name__}: {error}", eventId=attributes.get("eventId"),
                     messageId=message.message_id)  # fmt: skip
            raise
        self.summary.count("deadLettered", reason.split(":")[0][:80])
        logs.log("WARNING", "message dead-lettered", reason=reason, eventId=attributes.get("eventId"),
                 messageId=message.message_id)  # fmt: skip

    def _publish_dead_letter(self, body: bytes, attributes: dict[str, str]) -> None:
        """The router's only use of the publishing module."""
        self.dead_letters.publish(self.config.dead_letter_topic, body, attributes)
