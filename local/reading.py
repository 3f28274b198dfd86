"""Read what the pipeline produced: pull-and-ack a subscription, wait until a count is reached.

One definition of each for the tests, the drills, the benchmarks and the demo, which all read the
pipeline's output the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from google.cloud import pubsub_v1
from google.pubsub_v1 import PubsubMessage


def pull_and_ack(
    subscriber: pubsub_v1.SubscriberClient,
    subscription: str,
    count: int | None = None,
    timeout: float = 20,
    max_messages: int = 100,
) -> list[PubsubMessage]:
    """Pull and ack until `count` messages arrived or `timeout` seconds passed; with `count`
    None, what the subscription holds now (until a pull comes back empty, or the timeout)."""
    received: list[PubsubMessage] = []
    deadline = time.monotonic() + timeout
    while (count is None or len(received) < count) and time.monotonic() < deadline:
        answer = subscriber.pull(subscription=subscription, max_messages=max_messages, timeout=5)
        if not answer.received_messages:
            if count is None:
                break
            continue
        subscriber.acknowledge(
            subscription=subscription, ack_ids=[m.ack_id for m in answer.received_messages]
        )
        received.extend(m.message for m in answer.received_messages)
    return received


def wait_for_count(
    measure: Callable[[], int],
    expected: int,
    timeout: float,
    stall: float | None = None,
    interval: float = 0.5,
) -> int:
    """Call `measure` until it returns at least `expected` or `timeout` seconds passed; with
    `stall`, give up sooner once that many seconds went by without the count growing (a loaded
    machine is slow, a stuck pipeline stops). Returns the last count."""
    started = progressed = time.monotonic()
    count = measure()
    while count < expected:
        now = time.monotonic()
        if now - started > timeout or (stall is not None and now - progressed > stall):
            break
        time.sleep(interval)
        previous, count = count, measure()
        if count > previous:
            progressed = time.monotonic()
    return count
