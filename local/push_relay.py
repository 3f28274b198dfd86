"""Pub/Sub push delivery for the local pipeline, done as the cloud does it.

Google's Pub/Sub emulator can push to an HTTP endpoint, but it keeps at most two pushes in
flight (about 90 deliveries/s to a 20 ms endpoint, where the cloud scales to thousands) and,
in about one run in four of our outage test, never redelivered a message it had pushed
while the endpoint failed. Its streaming pull is no substitute either: it ignores the
subscriber's flow control and streams every message at once, so under a backlog the buffered
messages pass their ack deadline before they are even posted, are delivered again after
`route` answered 200 for them, and the emulator's expired-deadline bookkeeping takes a full
core (delivery fell to 5-30 messages/s). So the relay pulls and POSTs itself, as Pub/Sub's
push service does:

- it asks with one-shot `pull` calls for no more messages than it has free slots, so a
  message's ack deadline starts when it is pushed, never while it waits in a client buffer;
- the request body is the push envelope `{"message": {data, attributes, messageId,
  publishTime}, "subscription", "deliveryAttempt"}`, POSTed to the endpoint;
- a 2xx answer acks the message; anything else (or no answer within the ack deadline) is
  nacked (deadline 0) once the retry policy's backoff has passed, so it is delivered again
  after the backoff without holding a slot meanwhile;
- the subscription's dead-letter policy moves it to the dead-letter topic after its
  maximum delivery attempts (the emulator implements that part correctly).
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from google.api_core import exceptions as google_exceptions
from google.cloud import pubsub_v1
from google.pubsub_v1.types import ReceivedMessage

from functions import timestamps

PULL_WAIT_SECONDS = 2.0  # how long one pull may wait for messages
EMPTY_PAUSE_SECONDS = 0.05  # the emulator answers an empty pull at once: don't spin


def backoff_seconds(attempt: int, minimum: float, maximum: float) -> float:
    """A subscription retry policy's wait before delivery `attempt` + 1 (doubling from `minimum`)."""
    return min(maximum, minimum * 2 ** max(0, attempt - 1))


def nack_after(
    subscriber: pubsub_v1.SubscriberClient, subscription: str, received: ReceivedMessage, delay: float
) -> None:
    """Deadline 0 once `delay` has passed: delivered again then, without holding anything meanwhile.
    (Not a shorter deadline left to expire: with those, the emulator now and then lost a message,
    in neither the subscription nor the dead-letter topic; measured in 2 of 4 runs of
    tests/integration/test_router.py's outage test.)"""

    def nack() -> None:
        with contextlib.suppress(Exception):  # else its ack deadline expires: redelivered anyway
            subscriber.modify_ack_deadline(
                subscription=subscription, ack_ids=[received.ack_id], ack_deadline_seconds=0
            )

    timer = threading.Timer(delay, nack)
    timer.daemon = True
    timer.start()


class PushRelay:
    """Delivers the messages of `subscription` to `endpoint`, up to `max_in_flight` at once."""

    def __init__(
        self,
        subscriber: pubsub_v1.SubscriberClient,
        subscription: str,
        endpoint: str,
        max_in_flight: int = 64,
        ack_deadline_seconds: int = 60,
        minimum_backoff_seconds: float = 1.0,
        maximum_backoff_seconds: float = 10.0,
    ) -> None:
        self.subscriber = subscriber
        self.subscription = subscription
        self.endpoint = endpoint
        self.max_in_flight = max_in_flight
        self.ack_deadline_seconds = ack_deadline_seconds
        self.minimum_backoff = minimum_backoff_seconds
        self.maximum_backoff = maximum_backoff_seconds
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max_in_flight)
        self.session.mount("http://", adapter)
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="push-relay")
        self._slots = threading.Semaphore(max_in_flight)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pull_limit = max_in_flight  # halved while pull answers come back too large
        self.pushed = 0  # deliveries made (2xx or not), for drills and tests
        self.failed = 0

    def _backoff(self, attempt: int) -> float:
        return backoff_seconds(attempt, self.minimum_backoff, self.maximum_backoff)

    def _envelope(self, received: ReceivedMessage) -> dict:
        message = received.message
        return {
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": dict(message.attributes),
                "messageId": message.message_id,
                "publishTime": timestamps.to_rfc3339(message.publish_time),
            },
            "subscription": self.subscription,
            "deliveryAttempt": received.delivery_attempt or 1,
        }

    def _deliver(self, received: ReceivedMessage) -> None:
        delivered = False
        try:
            try:
                answer = self.session.post(
                    self.endpoint, json=self._envelope(received), timeout=self.ack_deadline_seconds
                )
                delivered = 200 <= answer.status_code < 300
            except requests.RequestException:
                delivered = False
            if delivered:
                with contextlib.suppress(Exception):  # the deadline then expires: redelivered anyway
                    self.subscriber.acknowledge(subscription=self.subscription, ack_ids=[received.ack_id])
            else:  # redelivered once the backoff has passed, as Pub/Sub's retry policy does
                delay = self._backoff(received.delivery_attempt or 1)
                nack_after(self.subscriber, self.subscription, received, delay)
        finally:
            with self._lock:
                self.pushed += 1
                self.failed += 0 if delivered else 1
                self._in_flight -= 1
                self._last_activity = time.monotonic()
            self._slots.release()

    def _free_slots(self) -> int:
        """Wait for at least one free slot and take every free one."""
        self._slots.acquire()
        taken = 1
        while taken < self.max_in_flight and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _run(self) -> None:
        while not self._stopping.is_set():
            slots = self._free_slots()
            received: list[ReceivedMessage] = []
            try:
                answer = self.subscriber.pull(
                    subscription=self.subscription,
                    max_messages=min(slots, self._pull_limit),
                    timeout=PULL_WAIT_SECONDS,
                )
                received = list(answer.received_messages)
                self._pull_limit = min(self.max_in_flight, self._pull_limit * 2)
            except google_exceptions.ResourceExhausted:  # the answer was too large: ask for fewer
                self._pull_limit = max(1, self._pull_limit // 2)
            except google_exceptions.GoogleAPIError:
                pass  # no message within the wait, or the emulator is going away
            for _ in range(slots - len(received)):
                self._slots.release()
            if not received:
                self._stopping.wait(EMPTY_PAUSE_SECONDS)
                continue
            with self._lock:
                self._in_flight += len(received)
                self._last_activity = time.monotonic()
            for message in received:
                self._pool.submit(self._deliver, message)

    def wait_idle(self, quiet_seconds: float = 3.0, timeout: float = 180.0) -> bool:
        """Wait until nothing was pulled or in flight for `quiet_seconds`; False on timeout.

        Messages waiting out a backoff come back within `maximum_backoff`, so a quiet period
        longer than that also covers them.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                quiet = self._in_flight == 0 and time.monotonic() - self._last_activity >= quiet_seconds
            if quiet:
                return True
            time.sleep(0.2)
        return False

    def start(self) -> PushRelay:
        self._thread = threading.Thread(target=self._run, name="push-relay-pull", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=PULL_WAIT_SECONDS + 5)
            self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)  # the servers stop next: posts end
        self.session.close()
