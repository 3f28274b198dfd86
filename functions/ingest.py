"""The `ingest` HTTP function: verify a DT request, publish it, answer only once it is safe.

Order: method → size → signature → envelope → publish. Nothing from an unauthenticated body
is parsed, and 2xx is sent only after Pub/Sub confirmed the publish, so DT's retries cover
every failure.
"""

from __future__ import annotations

import json
from typing import Any

import flask

from functions import envelope, logs
from functions.config import IngestConfig
from functions.errors import BodyTooLarge, IngestError, InvalidBody, MethodNotAllowed
from functions.publishing import Publisher
from functions.signature import RequestVerifier

Response = tuple[str, int, dict[str, str]]
_JSON = {"Content-Type": "application/json"}


class Ingest:
    """The handler with its configuration, verifier and publisher, built once per process."""

    def __init__(self, config: IngestConfig, verifier: RequestVerifier | None = None) -> None:
        self.config = config
        self.verifier = verifier or RequestVerifier(config)
        self.publisher = Publisher(config.publish_timeout_seconds)

    def _read_body(self, request: flask.Request) -> bytes:
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        body = request.stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        if not body:
            raise InvalidBody("the body is empty")
        return body

    def _accept(self, request: flask.Request) -> dict[str, Any]:
        if request.method != "POST":
            raise MethodNotAllowed(f"{request.method} is not allowed; DT sends POST")
        body = self._read_body(request)
        self.verifier.verify(request.headers, body)
        event = envelope.parse(body)
        attributes = event.attributes() | {"source": "webhook"}
        message_id = self.publisher.publish(self.config.pubsub_topic, body, attributes)
        logs.log(
            "INFO",
            "event published",
            eventId=event.event_id,
            eventType=event.event_type,
            deviceId=event.device_id,
            messageId=message_id,
        )
        return {"status": "published", "eventId": event.event_id, "messageId": message_id}

    def handle(self, request: flask.Request) -> Response:
        """Answer one request; every refusal is a short JSON error naming the problem."""
        try:
            return json.dumps(self._accept(request)), 200, _JSON
        except IngestError as error:
            severity = "ERROR" if error.status >= 500 else "WARNING"
            logs.log(severity, error.message, httpStatus=error.status, error=error.code)
            body = json.dumps({"error": error.code, "message": error.message})
            return body, error.status, _JSON | dict(error.headers)
        except Exception:
            logs.log_exception("unexpected error in ingest")
            body = json.dumps({"error": "internal", "message": "internal error; DT will retry"})
            return body, 500, _JSON
