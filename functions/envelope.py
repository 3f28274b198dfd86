"""The DT request body: parse it and check the fields every event must have.

Only what routing needs is checked; unknown fields and unknown event types pass through,
since DT adds both over time and the raw body is kept as sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions import timestamps
from functions.errors import InvalidBody

_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
DEVICE_NAME = re.compile(r"^projects/([A-Za-z0-9_-]{1,128})/devices/([A-Za-z0-9_-]{1,128})$")


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
    document: dict[str, Any]

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
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise InvalidBody(f"the body has the key {duplicate!r} more than once")
    return document


def _reject_constant(name: str) -> None:
    raise InvalidBody(f"the body holds {name}, which is not valid JSON")


def _field(container: dict[str, Any], name: str, pattern: re.Pattern[str], where: str) -> str:
    value = container.get(name)
    if not isinstance(value, str):
        raise InvalidBody(f"{where}.{name} is missing or not a string")
    if not pattern.match(value):
        raise InvalidBody(f"{where}.{name} is malformed")
    return value


def parse(body: bytes) -> Envelope:
    """Parse a DT body; raises InvalidBody naming the first problem found."""
    try:
        document = json.loads(
            body.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except UnicodeDecodeError:
        raise InvalidBody("the body is not valid UTF-8") from None
    except RecursionError:
        raise InvalidBody("the body is nested too deeply") from None
    except ValueError as error:
        raise InvalidBody(f"the body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidBody("the body is not a JSON object")
    event = document.get("event")
    if not isinstance(event, dict):
        raise InvalidBody("event is missing or not an object")
    event_id = _field(event, "eventId", _EVENT_ID, "event")
    event_type = _field(event, "eventType", _EVENT_TYPE, "event")
    target = DEVICE_NAME.match(event.get("targetName") if isinstance(event.get("targetName"), str) else "")
    if target is None:
        raise InvalidBody("event.targetName is missing or not projects/<project>/devices/<device>")
    timestamp_text = event.get("timestamp")
    try:
        timestamp = timestamps.parse(timestamp_text)
    except ValueError:
        raise InvalidBody("event.timestamp is missing or not an RFC 3339 timestamp") from None
    if "data" in event and not isinstance(event["data"], dict):
        raise InvalidBody("event.data is not an object")
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
    )
