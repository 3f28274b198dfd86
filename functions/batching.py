"""Group commit: requests handled concurrently share one backend call, with no added wait.

Each caller submits an item and blocks on its own outcome. One sender thread takes
everything queued so far and sends it in one call; while that call is in flight, new items
queue up and go in the next one. Under load batches grow by themselves; alone, an item
is sent at once. Used for BigQuery inserts (route); Pub/Sub's client batches by itself.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")

# send(key, items) returns one outcome per item, in order: a result, or an exception to raise.
Send = Callable[[Hashable, list[Item]], Sequence[Any]]


class GroupCommitter(Generic[Item]):
    """Batches items by key across threads; `send` is called from the sender threads only."""

    def __init__(
        self, send: Send[Item], max_items: int, senders: int = 1, name: str = "group-commit"
    ) -> None:
        self._send = send
        self._max_items = max_items
        self._senders = senders
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Hashable, Item, Future[Any]]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _ensure_senders(self) -> None:
        """Start the sender threads in the process that uses them (after gunicorn's fork)."""
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            while len(self._threads) < self._senders:
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                thread.start()
                self._threads.append(thread)

    def submit(self, key: Hashable, item: Item, timeout: float) -> Any:
        """Send `item` with others of the same `key`; returns its result or raises its exception.

        Raises concurrent.futures.TimeoutError when no outcome came within `timeout` seconds.
        """
        if len(self._threads) < self._senders or not all(thread.is_alive() for thread in self._threads):
            self._ensure_senders()
        outcome: Future[Any] = Future()
        self._queue.put((key, item, outcome))
        return outcome.result(timeout=timeout)

    def _take_batch(self) -> list[tuple[Hashable, Item, Future[Any]]]:
        batch = [self._queue.get()]
        while len(batch) < self._max_items:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            by_key: dict[Hashable, list[tuple[Item, Future[Any]]]] = defaultdict(list)
            for key, item, outcome in self._take_batch():
                by_key[key].append((item, outcome))
            for key, entries in by_key.items():
                self._deliver(key, entries)

    def _deliver(self, key: Hashable, entries: list[tuple[Item, Future[Any]]]) -> None:
        try:
            outcomes = self._send(key, [item for item, _ in entries])
            if len(outcomes) != len(entries):
                raise RuntimeError(f"{self._name}: {len(outcomes)} outcomes for {len(entries)} items")
        except Exception as error:  # the whole call failed: every item gets the error
            outcomes = [error] * len(entries)
        for (_, outcome), result in zip(entries, outcomes, strict=True):
            if isinstance(result, BaseException):
                outcome.set_exception(result)
            else:
                outcome.set_result(result)
