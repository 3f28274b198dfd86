"""Publishing to Pub/Sub with a deadline, for everything that publishes: ingest, route, ops.

A publish is either confirmed by Pub/Sub (its message id comes back) or raises `Unavailable`
with a one-line message; no other exception leaves this module, so callers map one error.
- `publish_async`: awaited on the event loop (ingest), on the library's asyncio client
  (`PublisherAsyncClient`, grpc.aio): the publishes that arrive in the same turn of the loop
  share one Publish RPC, and no thread is involved (measured cheaper in CPU per event than
  the threaded `PublisherClient` with its futures wrapped; see docs/benchmarks.md).
- `publish`: blocks until confirmed (route's dead letters).
- `publish_all`: many messages at once, all confirmed or an error counting the failures (ops).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent import futures

import google.auth
from google.api_core import exceptions as google_exceptions
from google.api_core.retry import Retry
from google.api_core.retry_async import AsyncRetry
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import pubsub_v1
from google.pubsub_v1 import PublisherAsyncClient, PublishRequest, PubsubMessage

from .errors import Unavailable

Message = tuple[bytes, dict[str, str]]

# Small batches, sent quickly: each request waits for its own confirmation, and requests
# that arrive together still share one RPC.
INTERACTIVE = pubsub_v1.types.BatchSettings(max_messages=100, max_bytes=1_000_000, max_latency=0.005)
# Many messages per request: a backfill or a replay publishes whole pages at once.
BULK = pubsub_v1.types.BatchSettings(max_messages=500, max_bytes=5_000_000, max_latency=0.05)
# One Publish RPC at most carries 1,000 messages and 10 MB; the loop's batches stay well below:
# a batch holds one message alone (at most MAX_BODY_BYTES, below 10 MB) or at most 4 MB.
_LOOP_BATCH_MESSAGES = 100
_LOOP_BATCH_BYTES = 4_000_000
# Publish RPCs in flight per topic: while they are, new publishes wait and are sent together.
# Two, so that one slow RPC does not hold every request. (In a micro-benchmark of 16 concurrent
# publishers: 2.7 messages per RPC when unbounded, 5 with two in flight, and less CPU per publish;
# in `./run bench ingest` 2, 8 and unbounded measured alike.)
_IN_FLIGHT = 2
# The raw protobuf classes: building them costs a fraction of the proto-plus wrappers.
_MESSAGE = PubsubMessage.pb()
_REQUEST = PublishRequest.pb()


# Pub/Sub's limits on attributes, in bytes (cloud.google.com/pubsub/quotas#resource_limits).
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY_BYTES = 256
MAX_ATTRIBUTE_VALUE_BYTES = 1024
# The attribute that marks a body DT signed but the envelope refused; its value is the reason.
# The router (and a BigQuery subscription's transform) dead-letters such a message with it.
INVALID_BODY_ATTRIBUTE = "invalidBody"


def cut_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, on a character boundary (lone surrogates,
    which UTF-8 cannot carry, become "?")."""
    return text.encode("utf-8", "replace")[:limit].decode("utf-8", "ignore")


def fit_attributes(attributes: Mapping[str, object], kept: Mapping[str, str] | None = None) -> dict[str, str]:
    """Attributes Pub/Sub accepts: keys and values cut to its byte limits, at most MAX_ATTRIBUTES;
    `kept` (ours, e.g. a dead letter's reason) always fit, the others fill what is left in order."""
    kept = kept or {}
    fitted = {
        cut_utf8(key, MAX_ATTRIBUTE_KEY_BYTES): cut_utf8(str(value), MAX_ATTRIBUTE_VALUE_BYTES)
        for key, value in kept.items()
    }
    for key, value in attributes.items():
        if len(fitted) >= MAX_ATTRIBUTES:
            break
        key = cut_utf8(str(key), MAX_ATTRIBUTE_KEY_BYTES)
        if key and key not in fitted:
            fitted[key] = cut_utf8(str(value), MAX_ATTRIBUTE_VALUE_BYTES)
    return fitted


def one_line(error: BaseException) -> str:
    """An exception as `Type: first line of its message`, for errors shown to people."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class _LoopBatcher:
    """Publishes to one topic, grouped: one Publish RPC carries what arrived while the previous
    ones were in flight (at most `_IN_FLIGHT` at a time), else what arrived in one turn of the
    loop. Under load batches grow by themselves, and an idle publish waits for nothing."""

    def __init__(self, client: PublisherAsyncClient, topic: str, timeout: float) -> None:
        self._client = client
        self._topic = topic
        self._timeout = timeout
        self._retry = AsyncRetry(initial=0.1, maximum=2.0, multiplier=2.0, timeout=timeout)
        self._pending: list[tuple[object, asyncio.Future[str]]] = []
        self._oldest = 0.0  # loop time of the first pending publish: its deadline is the batch's
        self._bytes = 0
        self._sending: set[asyncio.Task[None]] = set()

    def add(self, data: bytes, attributes: dict[str, str]) -> asyncio.Future[str]:
        message = _MESSAGE(data=data, attributes=attributes)  # TypeError for non-text attributes
        size = message.ByteSize()
        if self._pending and self._bytes + size > _LOOP_BATCH_BYTES:
            self._flush()  # this message would take the batch past the limit: it starts the next
        loop = asyncio.get_running_loop()
        if not self._pending:
            self._oldest = loop.time()
            if len(self._sending) < _IN_FLIGHT:
                loop.call_soon(self._flush)
        future: asyncio.Future[str] = loop.create_future()
        self._pending.append((message, future))
        self._bytes += size
        if len(self._pending) >= _LOOP_BATCH_MESSAGES or self._bytes >= _LOOP_BATCH_BYTES:
            self._flush()
        return future

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending, self._bytes = self._pending, [], 0
        deadline = self._oldest + self._timeout
        task = asyncio.get_running_loop().create_task(self._send(batch, deadline))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if len(self._sending) < _IN_FLIGHT:
            self._flush()

    async def _send(self, batch: list[tuple[object, asyncio.Future[str]]], deadline: float) -> None:
        request = _REQUEST(topic=self._topic, messages=[message for message, _ in batch])
        try:
            async with asyncio.timeout_at(deadline):  # one timer for the whole batch
                remaining = max(0.001, deadline - asyncio.get_running_loop().time())
                response = await self._client.publish(request=request, retry=self._retry, timeout=remaining)
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), message_id in zip(batch, response.message_ids, strict=True):
            if not future.done():  # its caller may have gone (a dropped connection)
                future.set_result(message_id)


async def _async_client() -> PublisherAsyncClient:
    """The asyncio client; finding the credentials may ask the metadata server, so off the loop.
    (With PUBSUB_EMULATOR_HOST, the library connects to the emulator without credentials.)"""
    credentials: Credentials
    if os.environ.get("PUBSUB_EMULATOR_HOST"):
        credentials = AnonymousCredentials()
    else:
        credentials, _ = await asyncio.to_thread(google.auth.default)
    return PublisherAsyncClient(credentials=credentials)


class Publisher:
    """Pub/Sub clients per process, created on first use and shared by all threads and tasks."""

    def __init__(self, timeout_seconds: float, batch: pubsub_v1.types.BatchSettings = INTERACTIVE) -> None:
        self.timeout = timeout_seconds
        self._batch = batch
        self._retry = Retry(initial=0.1, maximum=2.0, multiplier=2.0, timeout=timeout_seconds)
        self._client: pubsub_v1.PublisherClient | None = None
        self._lock = threading.Lock()
        # The asyncio client belongs to the event loop that created it.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_client: asyncio.Task[PublisherAsyncClient] | None = None
        self._batchers: dict[str, _LoopBatcher] = {}

    def _get_client(self) -> pubsub_v1.PublisherClient:
        with self._lock:
            if self._client is None:
                self._client = pubsub_v1.PublisherClient(batch_settings=self._batch)
            return self._client

    def _submit(self, topic: str, data: bytes, attributes: dict[str, str]) -> futures.Future[str]:
        try:
            return self._get_client().publish(
                topic, data, retry=self._retry, timeout=self.timeout, **attributes
            )
        except Exception as error:
            raise self._failed(error) from None

    def _failed(self, error: BaseException) -> Unavailable:
        if isinstance(error, futures.TimeoutError | TimeoutError):
            return Unavailable(f"Pub/Sub did not confirm the publish within {self.timeout:g} s")
        if isinstance(error, google_exceptions.GoogleAPIError):
            return Unavailable(f"Pub/Sub refused the publish: {type(error).__name__}")
        return Unavailable(f"the publish to Pub/Sub failed: {one_line(error)}")

    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        """Publish and wait for Pub/Sub's confirmation; returns the message id."""
        future = self._submit(topic, data, attributes)
        try:
            return future.result(timeout=self.timeout)
        except Exception as error:
            raise self._failed(error) from None

    async def _batcher(self, topic: str) -> _LoopBatcher:
        loop = asyncio.get_running_loop()
        creating = self._async_client
        failed = creating is not None and creating.done() and (creating.cancelled() or creating.exception())
        if self._loop is not loop or creating is None or failed:
            self._loop, self._batchers = loop, {}
            self._async_client = creating = loop.create_task(_async_client())
        client = await asyncio.shield(creating)  # a caller's deadline must not cancel it for the others
        if topic not in self._batchers:
            self._batchers[topic] = _LoopBatcher(client, topic, self.timeout)
        return self._batchers[topic]

    async def publish_async(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        """`publish` for the event loop: awaits the confirmation without holding a thread."""
        try:
            batcher = self._batchers.get(topic) if self._loop is asyncio.get_running_loop() else None
            if batcher is None:
                async with asyncio.timeout(self.timeout):
                    batcher = await self._batcher(topic)
            # The batch carries the deadline of its oldest publish.
            return await batcher.add(data, attributes)
        except Exception as error:
            raise self._failed(error) from None

    def publish_all(self, topic: str, messages: Sequence[Message]) -> list[str]:
        """The message ids, in order, once every message is confirmed; else `Unavailable`
        saying how many were not (some may have been published: consumers deduplicate)."""
        pending: list[futures.Future[str] | Unavailable] = []
        for data, attributes in messages:
            try:
                pending.append(self._submit(topic, data, attributes))
            except Unavailable as error:
                pending.append(error)
        message_ids: list[str] = []
        failures: list[str] = []
        for future in pending:
            try:
                if isinstance(future, Unavailable):
                    raise future
                message_ids.append(future.result(timeout=self.timeout))
            except Unavailable as error:
                failures.append(error.message)
            except Exception as error:
                failures.append(self._failed(error).message)
        if failures:
            raise Unavailable(
                f"Pub/Sub did not confirm {len(failures)} of {len(pending)} messages to {topic} "
                f"(first problem: {failures[0]})"
            )
        return message_ids

    def close(self) -> None:
        """Send what is batched and stop the client's threads."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.stop()
            except Exception as error:
                raise self._failed(error) from None
