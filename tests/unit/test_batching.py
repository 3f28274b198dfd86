"""The group committer behind the router's BigQuery inserts (narrow unit tests, fake sender)."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.batching import GroupCommitter, ItemTooLarge, NotSent, QueueFull


class FakeBackend:
    """Records every call; `gate[key]` (when set) holds that key's calls until released."""

    def __init__(self) -> None:
        self.calls: list[tuple[Hashable, list[str]]] = []
        self.gates: dict[Hashable, threading.Event] = {}
        self.started: dict[Hashable, threading.Event] = {}
        self.lock = threading.Lock()

    def send(self, key: Hashable, items: list[str]) -> list[object]:
        with self.lock:
            self.calls.append((key, list(items)))
        self.started.setdefault(key, threading.Event()).set()
        gate = self.gates.get(key)
        if gate is not None:
            assert gate.wait(30), "the test never released the gate"
        return [f"sent {item}" for item in items]

    def items_sent(self) -> list[str]:
        with self.lock:
            return [item for _, items in self.calls for item in items]


def committer(backend: FakeBackend, **limits: int) -> GroupCommitter[str]:
    values = {"max_items": 500, "max_bytes": 1_000, "max_queued_items": 100, "max_queued_bytes": 100_000}
    return GroupCommitter(backend.send, **(values | limits), name="test")


def submit_in_background(pool: ThreadPoolExecutor, group: GroupCommitter[str], key: str, item: str,
                         size: int = 10, timeout: float = 30):  # fmt: skip
    return pool.submit(group.submit, key, item, size, timeout, 30)


def hold_then_queue(pool: ThreadPoolExecutor, group: GroupCommitter[str], backend: FakeBackend,
                    items: list[str], size: int = 10) -> tuple:  # fmt: skip
    """Key "a": one call held in flight, then `items` queued behind it (not released yet)."""
    backend.gates["a"] = threading.Event()
    first = submit_in_background(pool, group, "a", "first")
    wait_until(backend.started.setdefault("a", threading.Event()).is_set)
    queued = [submit_in_background(pool, group, "a", item, size=size) for item in items]
    time.sleep(0.2)  # all queued behind the held call
    return first, queued


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_an_item_alone_is_sent_at_once_and_its_result_returned():
    backend = FakeBackend()
    assert committer(backend).submit("a", "x", 10, timeout=5, send_timeout=5) == "sent x"
    assert backend.calls == [("a", ["x"])]


def test_an_abandoned_item_is_never_sent():
    backend = FakeBackend()
    group = committer(backend)
    backend.gates["a"] = threading.Event()
    with ThreadPoolExecutor(4) as pool:
        first = submit_in_background(pool, group, "a", "first")
        wait_until(backend.started.setdefault("a", threading.Event()).is_set)  # the lane is busy
        with pytest.raises(NotSent):
            group.submit("a", "abandoned", 10, timeout=0.2, send_timeout=5)
        later = submit_in_background(pool, group, "a", "later")
        time.sleep(0.1)
        backend.gates["a"].set()
        assert first.result(10) == "sent first"
        assert later.result(10) == "sent later"
    assert "abandoned" not in backend.items_sent()
    assert sorted(backend.items_sent()) == ["first", "later"]


def test_a_slow_key_does_not_delay_another():
    backend = FakeBackend()
    group = GroupCommitter(backend.send, 500, 1_000, 100, 100_000, senders_per_key=2, name="test")
    backend.gates["slow"] = threading.Event()
    with ThreadPoolExecutor(8) as pool:
        stuck = [submit_in_background(pool, group, "slow", f"s{n}") for n in range(4)]
        wait_until(backend.started.setdefault("slow", threading.Event()).is_set)
        started = time.monotonic()
        assert group.submit("fast", "f", 10, timeout=5, send_timeout=5) == "sent f"
        assert time.monotonic() - started < 2
        assert not any(future.done() for future in stuck)
        backend.gates["slow"].set()
        assert sorted(future.result(10) for future in stuck) == [f"sent s{n}" for n in range(4)]


def test_a_batch_is_split_to_stay_within_the_byte_limit():
    backend = FakeBackend()
    group = committer(backend, max_bytes=100)
    with ThreadPoolExecutor(16) as pool:
        first, queued = hold_then_queue(pool, group, backend, [f"q{n}" for n in range(10)], size=30)
        backend.gates["a"].set()
        assert [future.result(10) for future in queued] == [f"sent q{n}" for n in range(10)]
        first.result(10)
    later_calls = [items for _, items in backend.calls[1:]]
    assert sum(len(items) for items in later_calls) == 10
    assert all(30 * len(items) <= 100 for items in later_calls), later_calls
    assert max(len(items) for items in later_calls) == 3  # filled up to the limit, not one by one


def test_a_batch_is_split_to_stay_within_the_item_limit():
    backend = FakeBackend()
    group = committer(backend, max_items=4)
    with ThreadPoolExecutor(16) as pool:
        first, queued = hold_then_queue(pool, group, backend, [f"q{n}" for n in range(10)])
        backend.gates["a"].set()
        [future.result(10) for future in [first, *queued]]
    assert [len(items) for _, items in backend.calls] == [1, 4, 4, 2]


def test_an_item_larger_than_one_call_is_refused_without_sending():
    backend = FakeBackend()
    with pytest.raises(ItemTooLarge):
        committer(backend, max_bytes=100).submit("a", "huge", 101, timeout=5, send_timeout=5)
    assert backend.calls == []


def test_a_full_queue_refuses_at_once_and_accepts_again_once_drained():
    backend = FakeBackend()
    group = committer(backend, max_queued_items=3)
    with ThreadPoolExecutor(8) as pool:
        first, queued = hold_then_queue(pool, group, backend, [f"q{n}" for n in range(3)])
        started = time.monotonic()
        with pytest.raises(QueueFull):
            group.submit("a", "refused", 10, timeout=5, send_timeout=5)
        assert time.monotonic() - started < 1, "a full queue must refuse at once, not wait"
        assert group.submit("b", "other key", 10, timeout=5, send_timeout=5) == "sent other key"
        backend.gates["a"].set()
        [future.result(10) for future in [first, *queued]]
        assert group.submit("a", "again", 10, timeout=5, send_timeout=5) == "sent again"
    assert "refused" not in backend.items_sent()


def test_the_queue_is_bounded_in_bytes_too():
    backend = FakeBackend()
    group = committer(backend, max_queued_bytes=50)
    with ThreadPoolExecutor(8) as pool:
        first, [queued] = hold_then_queue(pool, group, backend, ["queued"], size=40)
        with pytest.raises(QueueFull):
            group.submit("a", "refused", 20, timeout=5, send_timeout=5)
        backend.gates["a"].set()
        first.result(10)
        queued.result(10)


def test_a_failed_call_fails_every_item_of_its_batch_and_the_next_call_proceeds():
    calls: list[list[str]] = []

    def send(key: Hashable, items: list[str]) -> list[object]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("backend down")
        return ["ok"] * len(items)

    group: GroupCommitter[str] = GroupCommitter(send, 500, 1_000, 100, 100_000, name="test")
    with pytest.raises(ConnectionError):
        group.submit("a", "x", 10, timeout=5, send_timeout=5)
    assert group.submit("a", "y", 10, timeout=5, send_timeout=5) == "ok"
