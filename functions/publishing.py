"""Publishing to Pub/Sub with a deadline, for everything that publishes: ingest, route, ops.

A publish is either confirmed by Pub/Sub (its message id comes back) or raises `Unavailable`
with a one-line message; no other exception leaves this module, so callers map one error.
- `publish_async`: awaited on the event loop (ingest); the library's future is wrapped, so
  no thread waits per request, and requests that arrive together share one RPC.
- `publish`: blocks until confirmed (route's dead letters).
- `publish_all`: many messages at once, all confirmed or an error counting the failures (ops).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent import futures

from google.api_core import exceptions as google_exceptions
from google.api_core.retry import Retry
from google.cloud import pubsub_v1

from functions.errors import Unavailable

Message = tuple[bytes, dict[str, str]]

# Small batches, sent quickly: each request waits for its own confirmation, and requests
# that arrive together still share one RPC.
INTERACTIVE = pubsub_v1.types.BatchSettings(max_messages=100, max_bytes=1_000_000, max_latency=0.005)
# Many messages per request: a backfill or a replay publishes whole pages at once.
BULK = pubsub_v1.types.BatchSettings(max_messages=500, max_bytes=5_000_000, max_latency=0.05)


def one_line(error: BaseException) -> str:
    """An exception as `Type: first line of its message`, for errors shown to people."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class Publisher:
    """One Pub/Sub client per process, created on first use and shared by all threads and tasks."""

    def __init__(self, timeout_seconds: float, batch: pubsub_v1.types.BatchSettings = INTERACTIVE) -> None:
        self.timeout = timeout_seconds
        self._batch = batch
        self._retry = Retry(initial=0.1, maximum=2.0, multiplier=2.0, timeout=timeout_seconds)
        self._client: pubsub_v1.PublisherClient | None = None
        self._lock = threading.Lock()

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

    async def publish_async(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        """`publish` for the event loop: awaits the confirmation without holding a thread."""
        # Pub/Sub futures cannot be cancelled, so the deadline only stops the wait.
        future = self._submit(topic, data, attributes)
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.wrap_future(future)
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
