"""Pub/Sub push delivery for the local pipeline, done as the cloud does it.

Google's Pub/Sub emulator can push to an HTTP endpoint, but it keeps at most two pushes in
flight (about 90 deliveries/s to a 20 ms endpoint, where the cloud scales to thousands) and,
in about one run in four of our outage test, never redelivered a message it had pushed
while the endpoint failed. So the local pipeline pulls from the subscription and POSTs the
standard push request itself, like Pub/Sub's push service:

- the request body is the push envelope `{"message": {data, attributes, messageId,
  publishTime}, "subscription", "deliveryAttempt"}`, POSTed to the endpoint;
- a 2xx answer acks the message; anything else (or no answer) leaves it unacked, and it is
  delivered again after an exponential backoff (the subscription's retry policy);
- the subscription's dead-letter policy moves it to the dead-letter topic after its
  maximum delivery attempts (the emulator implements that part correctly).
"""

from __future__ import annotations

import base64
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.message import Message
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

from functions import timestamps


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
        self._future: pubsub_v1.subscriber.futures.StreamingPullFuture | None = None

    def _backoff(self, attempt: int) -> float:
        return min(self.maximum_backoff, self.minimum_backoff * 2 ** max(0, attempt - 1))

    def _deliver(self, message: Message) -> None:
        attempt = message.delivery_attempt or 1
        envelope = {
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": dict(message.attributes),
                "messageId": message.message_id,
                "publishTime": timestamps.to_rfc3339(message.publish_time),
            },
            "subscription": self.subscription,
            "deliveryAttempt": attempt,
        }
        try:
            answer = self.session.post(self.endpoint, json=envelope, timeout=self.ack_deadline_seconds)
            delivered = 200 <= answer.status_code < 300
        except requests.RequestException:
            delivered = False
        if delivered:
            message.ack()
        else:  # redelivered once the backoff has passed, as Pub/Sub's retry policy does
            time.sleep(self._backoff(attempt))
            message.nack()

    def start(self) -> PushRelay:
        flow_control = pubsub_v1.types.FlowControl(max_messages=self.max_in_flight)
        scheduler = ThreadScheduler(ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="push-relay"))
        self._future = self.subscriber.subscribe(
            self.subscription, self._deliver, flow_control=flow_control, scheduler=scheduler
        )
        return self

    def stop(self) -> None:
        if self._future is not None:
            self._future.cancel()
            with contextlib.suppress(Exception):  # a cancelled stream ends with an exception by design
                self._future.result(timeout=10)
            self._future = None
        self.session.close()
