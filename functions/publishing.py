"""Publishing to Pub/Sub with a deadline: a publish either is confirmed or raises Unavailable."""

from __future__ import annotations

import threading
from concurrent import futures

from google.api_core import exceptions as google_exceptions
from google.api_core.retry import Retry
from google.cloud import pubsub_v1

from functions.errors import Unavailable

# Small batches, sent quickly: each request waits for its own confirmation, and requests
# that arrive together still share one RPC.
_BATCH = pubsub_v1.types.BatchSettings(max_messages=100, max_bytes=1_000_000, max_latency=0.005)


class Publisher:
    """One Pub/Sub client per process, created on first use and shared by all threads."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._client: pubsub_v1.PublisherClient | None = None
        self._lock = threading.Lock()

    def _get_client(self) -> pubsub_v1.PublisherClient:
        with self._lock:
            if self._client is None:
                self._client = pubsub_v1.PublisherClient(batch_settings=_BATCH)
            return self._client

    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        """Publish and wait for Pub/Sub's confirmation; returns the message id."""
        retry = Retry(initial=0.1, maximum=2.0, multiplier=2.0, timeout=self._timeout)
        try:
            future = self._get_client().publish(topic, data, retry=retry, timeout=self._timeout, **attributes)
            return future.result(timeout=self._timeout)
        except (futures.TimeoutError, TimeoutError):
            raise Unavailable(f"Pub/Sub did not confirm the publish within {self._timeout:g} s") from None
        except google_exceptions.GoogleAPIError as error:
            raise Unavailable(f"Pub/Sub refused the publish: {type(error).__name__}") from None
