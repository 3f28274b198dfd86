"""Every outcome `route` decides for a delivery (written, retry, dead-letter), in-process,
against the real Pub/Sub emulator for the dead-letter topic.

BigQuery is a fake client here only where bqemulator cannot answer as BigQuery does: it
answers HTTP 500 for an invalid row, where BigQuery answers 200 with per-row `insertErrors`
(`invalid` for the bad row, `stopped` for the others of the same request).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from functions.bigquery_writer import MAX_REQUEST_BYTES, BatchWriter, BigQueryUnavailable
from functions.config import RouterConfig
from functions.router import Router
from local.dt_signing import new_xid
from tests.conftest import PROJECT, create_topic_with_subscription, example_body, pull, with_event

# About the route function itself (the BigQuery subscription router has no such code).
pytestmark = pytest.mark.function_router

ATTRIBUTES = {"type": "google.cloud.pubsub.topic.v1.messagePublished",
              "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/dt-events"}  # fmt: skip


class FakeBigQuery:
    """`insert_rows_json` as BigQuery answers it; rows whose event_id is in `invalid` are refused,
    which stops the rest of their request. `gate` (when set) holds the first `held` calls."""

    def __init__(self, invalid: set[str] = frozenset(), held: int = 0) -> None:
        self.invalid = invalid
        self.held = held
        self.gate = threading.Event()
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def insert_rows_json(self, table: str, rows: list[dict[str, Any]], row_ids: list[str], **_: Any) -> list:
        with self.lock:
            self.calls.append([row["event_id"] for row in rows])
            hold = len(self.calls) <= self.held
        if hold:
            assert self.gate.wait(30)
        if not self.invalid & {row["event_id"] for row in rows}:
            return []
        return [
            {"index": index, "errors": [{"reason": "invalid", "message": "no such field: bogus"}]}
            if row["event_id"] in self.invalid
            else {"index": index, "errors": [{"reason": "stopped", "message": ""}]}
            for index, row in enumerate(rows)
        ]


@pytest.fixture
def dead_letter_topic(publisher, subscriber, pubsub_host, monkeypatch) -> tuple[str, str]:
    # The router's own client reads PUBSUB_EMULATOR_HOST: the emulator where the topic is.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    return create_topic_with_subscription(publisher, subscriber, "dead-" + new_xid())


def router_for(topic: str, bigquery: FakeBigQuery | None = None, dead_letter_timeout: float = 3.0) -> Router:
    config = RouterConfig(
        bigquery_project=PROJECT,
        bigquery_dataset="dt",
        bigquery_api_endpoint="http://127.0.0.1:9",  # never reached: BigQuery is the fake here
        dead_letter_topic=topic,
        bigquery_timeout_seconds=10,
        log_level="INFO",
        dead_letter_timeout_seconds=dead_letter_timeout,
    )
    return Router(config, BatchWriter(config, client=bigquery or FakeBigQuery()))  # type: ignore[arg-type]


def push_event(body: bytes, **attributes: str) -> CloudEvent:
    message = {"data": base64.b64encode(body).decode(), "attributes": attributes, "messageId": new_xid(),
               "publishTime": "2026-01-01T00:00:00.000Z"}  # fmt: skip
    return CloudEvent(ATTRIBUTES, {"message": message, "subscription": "projects/local/subscriptions/s"})


def event(event_id: str, table: str = "temperature") -> CloudEvent:
    return push_event(with_event(example_body(table), eventId=event_id), eventId=event_id)


@pytest.mark.parametrize("data", [{"subscription": "s"}, {"message": "not an object"}, None])
def test_a_cloud_event_without_a_message_is_dead_lettered_at_once(subscriber, dead_letter_topic, data):
    topic, inspect = dead_letter_topic
    bigquery = FakeBigQuery()
    router_for(topic, bigquery).handle(CloudEvent(ATTRIBUTES, data))  # returns: acked, not a 500
    [letter] = pull(subscriber, inspect, 1)
    assert letter.attributes["deadLetterReason"] == "the CloudEvent holds no Pub/Sub message"
    assert letter.data == (json.dumps(data).encode() if data is not None else b"")
    assert bigquery.calls == []


def test_a_failed_dead_letter_publish_is_retried_never_acked(publisher, subscriber):
    missing_topic = publisher.topic_path(PROJECT, "never-created-" + new_xid())
    router = router_for(missing_topic, dead_letter_timeout=2)
    with pytest.raises(Exception, match="Pub/Sub"):  # raised: functions-framework answers 500
        router.handle(push_event(b"not a DT event", eventId="x"))
    with pytest.raises(Exception, match="Pub/Sub"):
        router.handle(CloudEvent(ATTRIBUTES, {"subscription": "s"}))


def test_the_dead_letter_publish_deadline_comes_from_the_environment(dead_letter_topic):
    env = {"BIGQUERY_DATASET": "local.dt", "DEAD_LETTER_TOPIC": dead_letter_topic[0],
           "DEAD_LETTER_TIMEOUT_SECONDS": "2.5"}  # fmt: skip
    assert RouterConfig.from_env(env).dead_letter_timeout_seconds == 2.5
    assert RouterConfig.from_env(env | {"DEAD_LETTER_TIMEOUT_SECONDS": ""}).dead_letter_timeout_seconds == 10


def test_a_row_refused_by_bigquery_is_dead_lettered_and_the_stopped_rows_of_its_request_retried(
    subscriber, dead_letter_topic
):
    topic, inspect = dead_letter_topic
    bad, good, first = (new_xid() for _ in range(3))
    bigquery = FakeBigQuery(invalid={bad}, held=1)  # the table's call in flight at first
    router = router_for(topic, bigquery)
    with ThreadPoolExecutor(4) as pool:
        busy = pool.submit(router.handle, event(first))
        deadline = time.monotonic() + 10
        while not bigquery.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = pool.submit(router.handle, event(bad))
        stopped = pool.submit(router.handle, event(good))
        time.sleep(0.3)  # both queued behind the held call: they share the next request
        bigquery.gate.set()
        assert busy.result(10) is None
        assert refused.result(10) is None  # dead-lettered, then acked
        with pytest.raises(BigQueryUnavailable, match="stopped"):
            stopped.result(10)  # retried
    assert bigquery.calls[0] == [first]
    assert sorted(bigquery.calls[1]) == sorted([bad, good]), bigquery.calls
    [letter] = pull(subscriber, inspect, 1)
    assert letter.attributes["eventId"] == bad
    assert "no such field: bogus" in letter.attributes["deadLetterReason"]
    router.handle(event(good))  # the redelivery is written
    assert bigquery.calls[-1] == [good]


def test_a_row_that_can_never_fit_one_request_is_dead_lettered_with_its_reason(subscriber, dead_letter_topic):
    topic, inspect = dead_letter_topic
    bigquery = FakeBigQuery()
    document = json.loads(example_body("temperature"))
    document["event"]["eventId"] = event_id = new_xid()
    # 1.2 MB of UTF-8, but every "é" takes 6 bytes as \u00e9 in each of `device_name` and `raw`,
    # and 7 in `labels` (JSON in a string): the row is about 11 MB in the request.
    document["labels"]["name"] = "é" * (MAX_REQUEST_BYTES // 16)
    body = json.dumps(document, ensure_ascii=False).encode()
    assert len(body) < MAX_REQUEST_BYTES / 7
    router_for(topic, bigquery).handle(push_event(body, eventId=event_id))
    [letter] = pull(subscriber, inspect, 1)
    assert letter.data == body
    assert "can never fit one BigQuery insertAll request" in letter.attributes["deadLetterReason"]
    assert bigquery.calls == []


def test_written_rows_are_acked_and_a_down_bigquery_is_retried(dead_letter_topic):
    topic, _ = dead_letter_topic
    bigquery = FakeBigQuery()
    router = router_for(topic, bigquery)
    written = new_xid()
    assert router.handle(event(written)) is None
    assert bigquery.calls == [[written]]

    class DownBigQuery(FakeBigQuery):
        def insert_rows_json(self, *args: Any, **kwargs: Any) -> list:
            raise ConnectionError("BigQuery unreachable")

    with pytest.raises(BigQueryUnavailable):
        router_for(topic, DownBigQuery()).handle(event(new_xid()))


def test_rows_waiting_together_are_split_into_requests_within_the_byte_limit(dead_letter_topic):
    """Sixteen rows of about 1.6 MB for one table, queued while a call is in flight."""

    class MeasuringBigQuery(FakeBigQuery):
        def insert_rows_json(self, table: str, rows: list, row_ids: list[str], **kwargs: Any) -> list:
            request = {"rows": [{"json": row, "insertId": i} for row, i in zip(rows, row_ids, strict=True)]}
            self.sizes.append(len(json.dumps(request)))  # as google-cloud-bigquery encodes it
            return super().insert_rows_json(table, rows, row_ids, **kwargs)

    bigquery = MeasuringBigQuery(held=1)
    bigquery.sizes = []
    router = router_for(dead_letter_topic[0], bigquery)

    def large(event_id: str) -> CloudEvent:
        document = json.loads(with_event(example_body("temperature"), eventId=event_id))
        document["labels"]["description"] = "ø" * 80_000  # about 1.6 MB in the request
        return push_event(json.dumps(document, ensure_ascii=False).encode(), eventId=event_id)

    with ThreadPoolExecutor(17) as pool:
        first = pool.submit(router.handle, event(new_xid()))
        deadline = time.monotonic() + 10
        while not bigquery.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        queued = [pool.submit(router.handle, large(new_xid())) for _ in range(16)]
        time.sleep(0.5)
        bigquery.gate.set()
        assert [future.result(20) for future in [first, *queued]] == [None] * 17
    assert sum(len(call) for call in bigquery.calls[1:]) == 16
    assert max(bigquery.sizes) <= MAX_REQUEST_BYTES, bigquery.sizes
    assert max(len(call) for call in bigquery.calls[1:]) >= 4, "the rows were not batched together"
