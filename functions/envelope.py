"""A DT event as DT sends it: parse it and check the fields every event must have.

Two shapes are accepted, because DT's Pub/Sub connector (GOOGLE_CLOUD_PUBSUB) publishes a message
whose shape DT does not document:
- the HTTP_PUSH body, `{"event": {...}, "labels": {...}, "metadata": {...}}` (what a Data
  Connector POSTs, and what the ingest function publishes);
- a bare inner event, `{"eventId", "targetName", "eventType", "data", "timestamp"}` (the shape of
  DT's REST API and of the `event` member above), which has no labels or metadata.
Everything routing needs (event id and type, project and device) comes from the data itself, so
a message without attributes is routed all the same. Anything else raises InvalidBody with the
reason, which the router dead-letters.

Only what routing needs is checked; unknown fields and unknown event types pass through,
since DT adds both over time and the raw body is kept as sent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import timestamps
from .errors import InvalidBody

# Anchored with \Z, not $ (which accepts a trailing newline); the JavaScript transform
# (functions/transform/template.js) uses the same patterns, where $ means the end.
_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}\Z")
_EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\Z")
DEVICE_NAME = re.compile(r"^projects/([A-Za-z0-9_-]{1,128})/devices/([A-Za-z0-9_-]{1,128})\Z")
# BigQuery's JSON type holds at most 500 levels of nesting (cloud.google.com/bigquery/docs/json-data,
# "Limitations"): a deeper body could never be its `raw` column.
MAX_DEPTH = 500
_STRING = re.compile(r'"(?:[^"\\]|\\[\s\S])*"?')


@dataclass(frozen=True)
class Envelope:
    """A checked DT body: the routing facts plus the whole parsed document."""

    event_id: str
    event_type: str
    project_id: str
    device_id: str
    timestamp: datetime
    timestamp_text: str
    labels: dict[str, Any]
    metadata: dict[str, Any] | None
    # Always in the HTTP_PUSH shape (a bare event is wrapped as {"event": ...}); the bytes as sent
    # are kept by the caller.
    document: dict[str, Any]
    shape: str = "push"  # "push" (the HTTP_PUSH body) or "event" (a bare inner event)

    @property
    def data(self) -> dict[str, Any] | None:
        """The typed payload: `event.data.<eventType>`, or `event.data` itself for the types
        DT does not key by name (labelsChanged)."""
        payload = self.document["event"].get("data")
        if not isinstance(payload, dict):
            return None
        inner = payload.get(self.event_type, payload)
        return inner if isinstance(inner, dict) else None

    def attributes(self) -> dict[str, str]:
        """Pub/Sub message attributes, for filtering subscriptions without decoding the body."""
        attributes = {
            "eventId": self.event_id,
            "eventType": self.event_type,
            "deviceId": self.device_id,
            "projectId": self.project_id,
            "timestamp": self.timestamp_text,
        }
        device_type = (self.metadata or {}).get("deviceType")
        if isinstance(device_type, str) and device_type:
            attributes["deviceType"] = device_type[:256]
        return attributes


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidBody(f"the body has the key {json.dumps(key)} more than once")
            seen.add(key)
    return document


def _reject_constant(name: str) -> None:
    raise InvalidBody(f"the body holds {name}, which is not valid JSON")


_OUT_OF_RANGE = "the body holds a number beyond what a 64-bit float holds (about 1.8e308)"


def _float(text: str) -> float:
    """A JSON number with a fraction or exponent; `1e400` would parse to infinity."""
    value = float(text)
    if math.isinf(value):
        raise InvalidBody(_OUT_OF_RANGE)
    return value


def _int(text: str) -> int:
    """A JSON integer; one beyond the float range can be no number BigQuery stores (FLOAT64 or JSON)."""
    if math.isinf(float(text)):
        raise InvalidBody(_OUT_OF_RANGE)
    return int(text)


def _too_deep(text: str) -> bool:
    """Whether `text` nests arrays and objects more than MAX_DEPTH deep (strings skipped), checked
    before parsing so the answer never depends on how deep the parser's stack happens to be."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for char in _STRING.sub("", text):
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _field(container: dict[str, Any], name: str, pattern: re.Pattern[str], where: str) -> str:
    value = container.get(name)
    if not isinstance(value, str):
        raise InvalidBody(f"{where}{name} is missing or not a string")
    if not pattern.match(value):
        raise InvalidBody(f"{where}{name} is malformed")
    return value


# A document without "event" but with one of these is taken for a bare inner event.
_BARE_EVENT_KEYS = ("eventId", "eventType", "targetName")


def parse(body: bytes) -> Envelope:
    """Parse a DT body or a bare DT event; raises InvalidBody naming the first problem found."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidBody("the body is not valid UTF-8") from None
    if _too_deep(text):
        raise InvalidBody("the body is nested too deeply")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except RecursionError:
        raise InvalidBody("the body is nested too deeply") from None
    except ValueError as error:
        raise InvalidBody(f"the body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidBody("the body is not a JSON object")
    event: Any
    if "event" not in document and any(key in document for key in _BARE_EVENT_KEYS):
        event, where, shape = document, "", "event"
        document = {"event": event}
    else:
        event, where, shape = document.get("event"), "event.", "push"
        if not isinstance(event, dict):
            raise InvalidBody(
                "event is missing or not an object, and the body is not a bare DT event either"
                " (eventId, eventType, targetName, timestamp at the top level)"
            )
    event_id = _field(event, "eventId", _EVENT_ID, where)
    event_type = _field(event, "eventType", _EVENT_TYPE, where)
    target_name = event.get("targetName")
    target = DEVICE_NAME.match(target_name if isinstance(target_name, str) else "")
    if target is None:
        raise InvalidBody(f"{where}targetName is missing or not projects/<project>/devices/<device>")
    timestamp_text = event.get("timestamp")
    try:
        timestamp = timestamps.parse(timestamp_text)
    except ValueError:
        raise InvalidBody(f"{where}timestamp is missing or not an RFC 3339 timestamp") from None
    if "data" in event and not isinstance(event["data"], dict):
        raise InvalidBody(f"{where}data is not an object")
    labels = document.get("labels")
    labels = {} if labels is None else labels
    if not isinstance(labels, dict):
        raise InvalidBody("labels is not an object")
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidBody("metadata is not an object")
    return Envelope(
        event_id=event_id,
        event_type=event_type,
        project_id=target.group(1),
        device_id=target.group(2),
        timestamp=timestamp,
        timestamp_text=str(timestamp_text),
        labels=labels,
        metadata=metadata,
        document=document,
        shape=shape,
    )
