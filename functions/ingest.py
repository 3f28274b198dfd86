"""The `ingest` HTTP function: verify a DT request, publish it, answer only once it is safe.

Order: method → size → signature → envelope → publish. Nothing from an unauthenticated body
is parsed, and 2xx is sent only after Pub/Sub confirmed the publish, so DT's retries cover
every failure. A body DT signed but the envelope refuses is kept all the same: published with
the attribute `INVALID_BODY_ATTRIBUTE` (the reason), which the router dead-letters, and
answered 202 (DT would retry a 4xx for 5 days, then disable the connector).

It runs on the event loop (ASGI), so nothing here may block it: the publish is awaited, and
an ES256 check, which may have to fetch DT's keys over the network, runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import envelope, logs
from .config import IngestConfig
from .errors import (
    BodyTimeout,
    BodyTooLarge,
    IngestError,
    InvalidBody,
    MethodNotAllowed,
    ProjectNotAllowed,
)
from .publishing import INVALID_BODY_ATTRIBUTE, Publisher, fit_attributes
from .signature import ASYMMETRIC_HEADER, RequestVerifier

_JSON = "application/json"
# A body over the limit is still read (and dropped) up to this size before the 413, so that its
# sender, still uploading, reads the answer instead of a reset connection. Cloud Run refuses
# HTTP/1 requests above 32 MiB itself.
_DRAINED_BYTES = 32 * 1024 * 1024


def _declared_length(request: Request) -> int | None:
    """The Content-Length header as a number, or None when absent or malformed (as werkzeug)."""
    value = request.headers.get("content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


async def _drain(stream: AsyncIterator[bytes], declared: int | None) -> None:
    """Read and drop what is left of a body too large to keep, up to `_DRAINED_BYTES`."""
    if declared is not None and declared > _DRAINED_BYTES:
        return
    drained = 0
    try:
        async for chunk in stream:
            drained += len(chunk)
            if drained > _DRAINED_BYTES:
                return
    except ClientDisconnect:
        return


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
        """The whole body within BODY_READ_TIMEOUT_SECONDS and MAX_BODY_BYTES, else a refusal."""
        limit = self.config.max_body_bytes
        try:
            async with asyncio.timeout(self.config.body_read_timeout_seconds):
                return await self._read_within(request, limit)
        except TimeoutError:
            raise BodyTimeout(
                f"the body did not arrive within {self.config.body_read_timeout_seconds:g} s"
            ) from None

    async def _read_within(self, request: Request, limit: int) -> bytes:
        length = _declared_length(request)
        too_large = BodyTooLarge(f"the body is larger than {limit} bytes")
        stream = request.stream()
        if length is not None and length > limit:
            await _drain(stream, length)
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    await _drain(stream, length)
                    raise too_large
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

    async def _accept(self, request: Request, started: float) -> Response:
        if request.method != "POST":
            raise MethodNotAllowed(f"{request.method} is not allowed; DT sends POST")
        body = await self._read_body(request)
        await self._verify(request, body)
        try:
            event = envelope.parse(body)
        except InvalidBody as refused:
            return await self._keep_invalid(body, refused.message)
        if self.config.project_ids and event.project_id not in self.config.project_ids:
            raise ProjectNotAllowed(
                f"DT project {event.project_id} is not one this function accepts (DT_PROJECT_IDS)"
            )
        attributes = fit_attributes(event.attributes() | {"source": "webhook"})  # deviceType is DT's text
        message_id = await self.publisher.publish_async(self.config.pubsub_topic, body, attributes)
        self.summary.count("published", event.event_type, time.monotonic() - started)
        if logs.debug_enabled():
            logs.log("DEBUG", "event published", eventId=event.event_id, eventType=event.event_type,
                     deviceId=event.device_id, messageId=message_id)  # fmt: skip
        answer = {"status": "published", "eventId": event.event_id, "messageId": message_id}
        return Response(json.dumps(answer), 200, media_type=_JSON)

    async def _keep_invalid(self, body: bytes, reason: str) -> Response:
        """A signed body the envelope refuses: published for the router to dead-letter, not lost."""
        attributes = fit_attributes({"source": "webhook", INVALID_BODY_ATTRIBUTE: reason})
        message_id = await self.publisher.publish_async(self.config.pubsub_topic, body, attributes)
        logs.log("WARNING", "signed body kept for the dead-letter topic", reason=reason, messageId=message_id)
        answer = {
            "status": "kept_invalid",
            "error": "invalid_body",
            "message": reason,
            "messageId": message_id,
        }
        return Response(json.dumps(answer), 202, media_type=_JSON)

    async def handle(self, request: Request) -> Response:
        """Answer one request; every refusal is a short JSON error naming the problem.

        A failure (5xx) is logged each time; a refusal (4xx, from anyone on the internet) is
        counted in the summary and logged one by one only for the first few of each interval.
        """
        started = time.monotonic()
        try:
            return await self._accept(request, started)
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
