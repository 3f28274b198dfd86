"""A stand-in for a Pub/Sub BigQuery subscription, since no emulator runs them (nor transforms).

It does what the documented service does (/work/shared facts, kept in docs/contracts.md):
- pulls the subscription's messages (one-shot pulls, as local/push_relay.py does, for the same
  reasons: the emulator's streaming pull ignores flow control);
- runs the JavaScript UDF single message transform, the very file Terraform deploys
  (functions/transform/dt_event_to_row.js), in Node (local/transform_runner.py); a UDF that throws
  fails the delivery, one that returns null filters the message (acked, nothing written);
- applies `use_table_schema` to the UDF's JSON: a field the table lacks, a REQUIRED column missing,
  a value of the wrong type, or a JSON column not given as a string holding JSON refuses the
  message; TIMESTAMP is taken as integer microseconds since the epoch or a TIMESTAMP string;
- writes the rows into the landing table (bqemulator's insertAll; no insertId, since the Storage
  Write API's default stream is at-least-once and the views deduplicate);
- acks what was written; a refused message is nacked at once (Pub/Sub does not back off on
  schema failures when a dead-letter topic is set), a failed write after the retry policy's
  backoff; on its last delivery attempt a failing message goes to the dead-letter topic as it
  was published (attributes kept) with `CloudPubSubDeadLetterSourceDeliveryErrorMessage` and the
  other attributes Pub/Sub adds to dead letters.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery, pubsub_v1
from google.pubsub_v1.types import ReceivedMessage

from functions import catalogue, timestamps
from functions.publishing import MAX_ATTRIBUTE_VALUE_BYTES, cut_utf8
from functions.rows import INT64_MAX, INT64_MIN
from local.push_relay import EMPTY_PAUSE_SECONDS, PULL_WAIT_SECONDS, backoff_seconds, nack_after
from local.transform_runner import Call, TransformRunner

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPE_GROUPS = {"FLOAT64": "FLOAT", "NUMERIC": "FLOAT", "BIGNUMERIC": "FLOAT", "INT64": "INTEGER", "BOOL": "BOOLEAN",
                "STRUCT": "RECORD"}  # fmt: skip
DEAD_LETTER_REASON = "CloudPubSubDeadLetterSourceDeliveryErrorMessage"


class Refused(Exception):
    """The message can't be written as it is (UDF error or use_table_schema refusal): not retried later."""


def _timestamp(value: Any, path: str) -> str:
    """A TIMESTAMP given as integer micros or a TIMESTAMP string, as insertAll takes it (RFC 3339)."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return timestamps.to_rfc3339(_EPOCH + timedelta(microseconds=value))
        if isinstance(value, str):
            return timestamps.to_rfc3339(timestamps.parse(value))
    except (ValueError, OverflowError):
        pass
    raise Refused(f"the value of {path} is not a TIMESTAMP (integer microseconds or a timestamp string)")


def _value(field: dict[str, Any], value: Any, path: str) -> Any:
    kind = field["type"].upper()
    kind = _TYPE_GROUPS.get(kind, kind)
    ok = {
        "STRING": isinstance(value, str),
        "INTEGER": isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX,
        "FLOAT": isinstance(value, int | float) and not isinstance(value, bool),
        "BOOLEAN": isinstance(value, bool),
        "RECORD": isinstance(value, dict),
        "TIMESTAMP": True,
        "JSON": isinstance(value, str),
    }.get(kind)
    if ok is None:
        raise ValueError(f"the stand-in has no rule for the column type {kind} ({path})")
    if not ok:
        raise Refused(f"the value of {path} does not fit its type {kind}")
    if kind == "TIMESTAMP":
        return _timestamp(value, path)
    if kind == "JSON":
        try:
            json.loads(value)
        except ValueError:
            raise Refused(f"the JSON column {path} does not hold valid JSON in its string") from None
    if kind == "RECORD":
        return table_row(value, field["fields"], path + ".")
    return value


def table_row(
    message: dict[str, Any], fields: list[dict[str, Any]] | tuple[dict[str, Any], ...], prefix: str = ""
) -> dict[str, Any]:
    """`message` (the UDF's JSON) as a row of a table with `fields`, by use_table_schema's rules;
    raises Refused with the reason otherwise."""
    by_name = {field["name"]: field for field in fields}
    extra = [key for key in message if key not in by_name]
    if extra:
        raise Refused(f"the message has the field {prefix}{extra[0]}, which the table lacks")
    row: dict[str, Any] = {}
    for name, field in by_name.items():
        value, path, mode = message.get(name), prefix + name, field.get("mode", "NULLABLE").upper()
        if value is None:
            if mode == "REQUIRED":
                raise Refused(f"the REQUIRED column {path} is missing")
            continue
        if mode == "REPEATED":
            if not isinstance(value, list):
                raise Refused(f"the value of {path} is not an array (the column is REPEATED)")
            row[name] = [_value(field, item, path) for item in value]
        else:
            row[name] = _value(field, value, path)
    return row


@dataclass
class _Failure:
    received: ReceivedMessage
    reason: str
    refused: bool  # a refusal is nacked at once; a failed write after the backoff


class BigQuerySubscription:
    """Delivers `subscription` into `table` (project.dataset.table) as a BigQuery subscription would."""

    def __init__(
        self,
        subscriber: pubsub_v1.SubscriberClient,
        subscription: str,
        publisher: pubsub_v1.PublisherClient,
        dead_letter_topic: str,
        client: bigquery.Client,
        table: str,
        max_delivery_attempts: int,
        max_messages: int = 500,
        write_timeout_seconds: float = 10.0,
        minimum_backoff_seconds: float = 1.0,
        maximum_backoff_seconds: float = 10.0,
    ) -> None:
        self.subscriber, self.subscription = subscriber, subscription
        self.publisher, self.dead_letter_topic = publisher, dead_letter_topic
        self.client, self.table = client, table
        self.max_delivery_attempts = max_delivery_attempts
        self.max_messages = max_messages
        self.write_timeout = write_timeout_seconds
        self.minimum_backoff, self.maximum_backoff = minimum_backoff_seconds, maximum_backoff_seconds
        self.fields = catalogue.landing_fields()
        self.udf = TransformRunner()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._last_activity = time.monotonic()
        self.written = 0  # rows written, messages dead-lettered and failed deliveries: for tests and bench
        self.dead_lettered = 0
        self.failed = 0
        self.failures: list[dict[str, str | None]] = []  # each failed delivery: eventId, reason

    # One batch ----------------------------------------------------------------------------
    def _metadata(self, received: ReceivedMessage) -> dict[str, Any]:
        message = received.message
        return {
            "message_id": message.message_id,
            # "YYYY-MM-DDTHH:MM:SSZ", as the SMT runtime gives it
            "publish_time": message.publish_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ordering_key": message.ordering_key,
        }

    def deliver(self, batch: list[ReceivedMessage]) -> None:
        """Transform, check and write one pulled batch; ack, nack or dead-letter each message."""
        failures: list[_Failure] = []
        calls: list[tuple[ReceivedMessage, Call]] = []
        for received in batch:
            try:
                text = received.message.data.decode("utf-8")
            except UnicodeDecodeError:
                failures.append(
                    _Failure(
                        received,
                        "INVALID_ARGUMENT: not a DT event: the body is not valid UTF-8 (the transform takes text)",
                        True,
                    )
                )
                continue
            calls.append((received, Call(text, dict(received.message.attributes), self._metadata(received))))
        outcomes = self.udf.run([call for _, call in calls]) if calls else []
        written: list[ReceivedMessage] = []
        rows: list[tuple[ReceivedMessage, dict[str, Any]]] = []
        for (received, _), outcome in zip(calls, outcomes, strict=True):
            if outcome.error is not None:
                failures.append(
                    _Failure(
                        received, f"FAILED_PRECONDITION: message transform failed: {outcome.error}", True
                    )
                )
            elif outcome.filtered:
                written.append(received)
            else:
                try:
                    rows.append((received, table_row(json.loads(outcome.data or ""), self.fields)))
                except Refused as refusal:
                    failures.append(_Failure(received, f"INVALID_ARGUMENT: {refusal}", True))
                except ValueError as error:
                    failures.append(
                        _Failure(received, f"INVALID_ARGUMENT: the message is not JSON: {error}", True)
                    )
        stored: list[ReceivedMessage] = []
        if rows:
            stored, failed = self._write(rows)
            failures += failed
        written += stored
        if written:
            with contextlib.suppress(Exception):  # its deadline then expires: delivered again, as in Pub/Sub
                self.subscriber.acknowledge(
                    subscription=self.subscription, ack_ids=[r.ack_id for r in written]
                )
        for failure in failures:
            self._fail(failure)
        with self._lock:
            self.written += len(stored)
            self.failed += len(failures)

    def _write(
        self, rows: list[tuple[ReceivedMessage, dict[str, Any]]]
    ) -> tuple[list[ReceivedMessage], list[_Failure]]:
        try:
            errors = self.client.insert_rows_json(
                self.table,
                [row for _, row in rows],
                row_ids=[None] * len(rows),
                skip_invalid_rows=True,
                timeout=self.write_timeout,
                retry=bigquery.DEFAULT_RETRY.with_deadline(self.write_timeout),
            )
        except Exception as error:  # BigQuery down, slow, table gone: retried after the backoff
            reason = f"UNAVAILABLE: writing to {self.table} failed: {type(error).__name__}: {error}"
            return [], [_Failure(received, reason, False) for received, _ in rows]
        refused = {entry["index"]: entry.get("errors", []) for entry in errors}
        failed = [
            _Failure(
                received, f"INVALID_ARGUMENT: BigQuery refused the row: {json.dumps(refused[index])}", True
            )
            for index, (received, _) in enumerate(rows)
            if index in refused
        ]
        return [received for index, (received, _) in enumerate(rows) if index not in refused], failed

    def _fail(self, failure: _Failure) -> None:
        attempt = failure.received.delivery_attempt or 1
        with self._lock:
            self.failures.append(
                {"eventId": failure.received.message.attributes.get("eventId"), "reason": failure.reason}
            )
        if attempt >= self.max_delivery_attempts and self._dead_letter(failure):
            return
        attempt_backoff = backoff_seconds(attempt, self.minimum_backoff, self.maximum_backoff)
        nack_after(
            self.subscriber, self.subscription, failure.received, 0.0 if failure.refused else attempt_backoff
        )

    def _dead_letter(self, failure: _Failure) -> bool:
        """The message as published, its attributes kept, plus Pub/Sub's dead-letter attributes;
        True once the publish is confirmed and the message acked."""
        message = failure.received.message
        project = self.subscription.split("/")[1]
        attributes: dict[str, Any] = dict(message.attributes) | {
            DEAD_LETTER_REASON: cut_utf8(failure.reason, MAX_ATTRIBUTE_VALUE_BYTES),
            "CloudPubSubDeadLetterSourceDeliveryCount": str(failure.received.delivery_attempt or 1),
            "CloudPubSubDeadLetterSourceSubscription": self.subscription.rsplit("/", 1)[-1],
            "CloudPubSubDeadLetterSourceSubscriptionProject": project,
            "CloudPubSubDeadLetterSourceTopicPublishTime": timestamps.to_rfc3339(message.publish_time),
        }
        try:
            self.publisher.publish(self.dead_letter_topic, message.data, **attributes).result(timeout=30)
            self.subscriber.acknowledge(subscription=self.subscription, ack_ids=[failure.received.ack_id])
        except Exception:  # not dead-lettered: delivered again
            return False
        with self._lock:
            self.dead_lettered += 1
        return True

    # The pump -------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                answer = self.subscriber.pull(
                    subscription=self.subscription, max_messages=self.max_messages, timeout=PULL_WAIT_SECONDS
                )
                batch = list(answer.received_messages)
            except google_exceptions.GoogleAPIError:
                batch = []  # no message within the wait, or the emulator is going away
            if not batch:
                self._stopping.wait(EMPTY_PAUSE_SECONDS)
                continue
            with self._lock:
                self._busy, self._last_activity = True, time.monotonic()
            try:
                self.deliver(batch)
            finally:
                with self._lock:
                    self._busy, self._last_activity = False, time.monotonic()

    def wait_idle(self, quiet_seconds: float = 3.0, timeout: float = 180.0) -> bool:
        """Wait until nothing was pulled for `quiet_seconds` (longer than the maximum backoff covers
        the messages waiting to be delivered again); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                quiet = not self._busy and time.monotonic() - self._last_activity >= quiet_seconds
            if quiet:
                return True
            time.sleep(0.2)
        return False

    def start(self) -> BigQuerySubscription:
        self.udf.start()
        self._thread = threading.Thread(target=self._run, name="bigquery-subscription", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=PULL_WAIT_SECONDS + self.write_timeout + 5)
            self._thread = None
        self.udf.close()
