"""The `ingest` HTTP function: verify a DT request, publish it, answer only once it is safe.

Order: method → size → signature → envelope → publish. Nothing from an unauthenticated body
is parsed, and 2xx is sent only after Pub/Sub confirmed the publish, so DT's retries cover
every failure.

It runs on the event loop (ASGI), so nothing here may block it: the publish is awaited, and
an ES256 check, which may have to fetch DT's keys over the network, runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import envelope, logs
from .config import IngestConfig
from .errors import BodyTooLarge, IngestError, InvalidBody, MethodNotAllowed
from .publishing import Publisher
from .signature import ASYMMETRIC_HEADER, RequestVerifier

_JSON = "application/json"


def _declared_length(request: Request) -> int | None:
    """The Content-Length header as a number, or None when absent or malformed (as werkzeug)."""
    value = request.headers.get("content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


class Ingest:
    """The handler with its configuration, verifier and publisher, built once per process."""

    def __init__(self, config: IngestConfig, verifier: RequestVerifier | None = None) -> None:
        self.config = config
        self.verifier = verifier or RequestVerifier(config)
        self.publisher = Publisher(config.publish_timeout_seconds)
        # Only the ES256 check may do network I/O (DT's keys); HS256 is ~0.1 ms of CPU.
        self._asymmetric = config.organization_id is not None
        self.summary = logs.Summary("ingest")
        logs.log("INFO", "ingest ready", topic=config.pubsub_topic, logLevel=config.log_level,
                 es256=self._asymmetric, hs256Secrets=len(config.signature_secrets),
                 maxBodyBytes=config.max_body_bytes)  # fmt: skip

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        length = _declared_length(request)
        if length is not None and length > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"the body is larger than {limit} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            raise InvalidBody("the client disconnected before the body was complete") from None
        if not size:
            raise InvalidBody("the body is empty")
        return b"".join(chunks)

    async def _verify(self, request: Request, body: bytes) -> None:
        if self._asymmetric and ASYMMETRIC_HEADER in request.headers:
            await asyncio.to_thread(self.verifier.verify, request.headers, body)
        else:
            self.verifier.verify(request.headers, body)

    async def _accept(self, request: Request, started: float) -> dict[str, Any]:
        if request.method != "POST":
            raise MethodNotAllowed(f"{request.method} is not allowed; DT sends POST")
        body = await self._read_body(request)
        await self._verify(request, body)
        event = envelope.parse(body)
        attributes = event.attributes() | {"source": "webhook"}
        message_id = await self.publisher.publish_async(self.config.pubsub_topic, body, attributes)
        self.summary.count("published", event.event_type, time.monotonic() - started)
        if logs.debug_enabled():
            logs.log("DEBUG", "event published", eventId=event.event_id, eventType=event.event_type,
                     deviceId=event.device_id, messageId=message_id)  # fmt: skip
        return {"status": "published", "eventId": event.event_id, "messageId": message_id}

    async def handle(self, request: Request) -> Response:
        """Answer one request; every refusal is a short JSON error naming the problem.

        A failure (5xx) is logged each time; a refusal (4xx, from anyone on the internet) is
        counted in the summary and logged one by one only for the first few of each interval.
        """
        started = time.monotonic()
        try:
            return Response(json.dumps(await self._accept(request, started)), 200, media_type=_JSON)
        except IngestError as error:
            failed = error.status >= 500
            self.summary.count("failed" if failed else "refused", error.code)
            if failed or self.summary.log_individually("refused"):
                logs.log(
                    "ERROR" if failed else "WARNING", error.message, httpStatus=error.status, error=error.code
                )
            body = json.dumps({"error": error.code, "message": error.message})
            return Response(body, error.status, headers=dict(error.headers), media_type=_JSON)
        except Exception:
            self.summary.count("failed", "internal")
            logs.log_exception("unexpected error in ingest")
            body = json.dumps({"error": "internal", "message": "internal error; DT will retry"})
            return Response(body, 500, media_type=_JSON)
