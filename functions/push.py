"""The body of a Pub/Sub push request, read as Pub/Sub documents it.

Pub/Sub's push subscription POSTs each message as JSON (the "wrapped" payload):
`{"message": {"data", "attributes", "messageId", "publishTime"}, "subscription", "deliveryAttempt"}`,
with `data` base64 and every field but `message` optional
(https://cloud.google.com/pubsub/docs/push#receive_push). `route` reads it itself: no CloudEvent
conversion in between (see docs/benchmarks.md, "Route").
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any


class BadPushRequest(Exception):
    """The request is not a Pub/Sub push envelope: answered 400 with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PushedMessage:
    """One pushed Pub/Sub message."""

    data: bytes
    attributes: dict[str, str]
    message_id: str | None = None
    publish_time: str | None = None


def _optional_string(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise BadPushRequest(f"message.{key} is not a string")
    return value


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    attributes = message.get("attributes")
    if attributes is None:
        return {}
    if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
        raise BadPushRequest("message.attributes is not an object of strings")
    return attributes


def _data(message: dict[str, Any]) -> bytes:
    data = message.get("data")
    if data is None:  # a message of attributes only
        return b""
    if not isinstance(data, str):
        raise BadPushRequest("message.data is not a string")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadPushRequest("message.data is not base64") from None


def parse(body: bytes) -> PushedMessage:
    """The message of a push request body; raises BadPushRequest if it is not one."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadPushRequest("the body is not JSON") from None
    message = document.get("message") if isinstance(document, dict) else None
    if not isinstance(message, dict):
        raise BadPushRequest("the body holds no Pub/Sub message (no `message` object)")
    return PushedMessage(
        data=_data(message),
        attributes=_attributes(message),
        message_id=_optional_string(message, "messageId"),
        publish_time=_optional_string(message, "publishTime"),
    )
