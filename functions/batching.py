"""Group commit: requests handled concurrently share one backend call, with no added wait.

Each caller submits an item and blocks on its own outcome. Items are queued per key (for
BigQuery: per table), and each key has its own sender threads, so a slow key never delays
another. A sender takes everything queued for its key so far, within the limits of one call
(items and bytes), and sends it in one call; while that call is in flight, new items queue
up and go in the next one. Under load batches grow by themselves; alone, an item is sent at
once. Used for BigQuery inserts (route); Pub/Sub's client batches by itself.

- An item is sent only while its caller still waits: a caller that gives up withdraws it,
  and a withdrawn item is never sent (its message is redelivered anyway).
- Each key's queue is bounded: when full, `submit` raises `QueueFull` at once (retryable).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")

# send(key, items) returns one outcome per item, in order: a result, or an exception to raise.
Send = Callable[[Hashable, list[Item]], Sequence[Any]]


class QueueFull(Exception):
    """Too many items wait for this key already: try again later (retryable)."""


class ItemTooLarge(ValueError):
    """The item alone exceeds the byte limit of one call: it can never be sent."""


class NotSent(Exception):
    """The caller's time ran out before the item was sent: it was withdrawn, never sent."""


@dataclass
class _Entry(Generic[Item]):
    item: Item
    size: int
    outcome: Future[Any] = field(default_factory=Future)


class _Lane(Generic[Item]):
    """The queue and sender threads of one key."""

    def __init__(self) -> None:
        self.entries: deque[_Entry[Item]] = deque()
        self.queued_bytes = 0
        self.ready = threading.Condition()
        self.threads: list[threading.Thread] = []


class GroupCommitter(Generic[Item]):
    """Batches items by key across threads; `send` is called from the sender threads only."""

    def __init__(
        self,
        send: Send[Item],
        max_items: int,
        max_bytes: int,
        max_queued_items: int,
        max_queued_bytes: int,
        senders_per_key: int = 1,
        name: str = "group-commit",
    ) -> None:
        self._send = send
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._max_queued_items = max_queued_items
        self._max_queued_bytes = max_queued_bytes
        self._senders = senders_per_key
        self._name = name
        self._lanes: dict[Hashable, _Lane[Item]] = {}
        self._lock = threading.Lock()

    def _lane(self, key: Hashable) -> _Lane[Item]:
        """The key's lane, its senders started in the process that uses them (after a fork)."""
        lane = self._lanes.get(key)
        if (
            lane is not None
            and len(lane.threads) == self._senders
            and all(t.is_alive() for t in lane.threads)
        ):
            return lane
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.threads = [thread for thread in lane.threads if thread.is_alive()]
            while len(lane.threads) < self._senders:
                thread = threading.Thread(
                    target=self._run, args=(key, lane), name=f"{self._name}-{key}", daemon=True
                )
                thread.start()
                lane.threads.append(thread)
            return lane

    def submit(self, key: Hashable, item: Item, size: int, timeout: float, send_timeout: float) -> Any:
        """Send `item` (`size` bytes) with others of the same `key`; returns its result or raises
        its exception.

        Raises ItemTooLarge if `size` alone exceeds one call's limit, QueueFull if the key's
        queue is full, NotSent if it was not sent within `timeout` seconds (it never will be),
        and concurrent.futures.TimeoutError if its call, once started, gave no outcome within
        `send_timeout` more seconds.
        """
        if size > self._max_bytes:
            raise ItemTooLarge(f"{size} bytes, more than the {self._max_bytes} bytes of one call")
        lane = self._lane(key)
        entry: _Entry[Item] = _Entry(item, size)
        with lane.ready:
            if (
                len(lane.entries) >= self._max_queued_items
                or lane.queued_bytes + size > self._max_queued_bytes
            ):
                raise QueueFull(
                    f"{self._name}: {len(lane.entries)} items ({lane.queued_bytes} bytes) already "
                    f"wait for {key}"
                )
            lane.entries.append(entry)
            lane.queued_bytes += size
            lane.ready.notify()
        try:
            return entry.outcome.result(timeout=timeout)
        except futures.TimeoutError:
            if entry.outcome.cancel():  # still queued: withdrawn, the sender will skip it
                raise NotSent(f"{self._name}: not sent to {key} within {timeout:g} s") from None
        return entry.outcome.result(timeout=send_timeout)  # being sent: wait for the call

    def _take_batch(self, lane: _Lane[Item]) -> list[_Entry[Item]]:
        """The oldest queued entries that fit one call; withdrawn ones are dropped."""
        with lane.ready:
            while not lane.entries:
                lane.ready.wait()
            batch: list[_Entry[Item]] = []
            size = 0
            while lane.entries and len(batch) < self._max_items:
                entry = lane.entries[0]
                if batch and size + entry.size > self._max_bytes:
                    break
                lane.entries.popleft()
                lane.queued_bytes -= entry.size
                if entry.outcome.set_running_or_notify_cancel():  # False: its caller gave up
                    batch.append(entry)
                    size += entry.size
            return batch

    def _run(self, key: Hashable, lane: _Lane[Item]) -> None:
        while True:
            batch = self._take_batch(lane)
            if batch:
                self._deliver(key, batch)

    def _deliver(self, key: Hashable, batch: list[_Entry[Item]]) -> None:
        try:
            outcomes = self._send(key, [entry.item for entry in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{self._name}: {len(outcomes)} outcomes for {len(batch)} items")
        except Exception as error:  # the whole call failed: every item gets the error
            outcomes = [error] * len(batch)
        for entry, result in zip(batch, outcomes, strict=True):
            if isinstance(result, BaseException):
                entry.outcome.set_exception(result)
            else:
                entry.outcome.set_result(result)
