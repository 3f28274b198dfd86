"""Every outcome `route` decides for a delivery (written, retry, dead-letter, a request that is no
push: 400), in-process, against the real Pub/Sub emulator for the dead-letter topic.

BigQuery is a fake client here only where bqemulator cannot answer as BigQuery does: it
answers HTTP 500 for an invalid row, where BigQuery answers 200 with per-row `insertErrors`
(`invalid` for the bad row, `stopped` for the others of the same request).
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions import push
from functions.bigquery_writer import MAX_REQUEST_BYTES, BatchWriter, BigQueryUnavailable
from functions.config import RouterConfig
from functions.router import Router
from local.dt_signing import new_xid
from local.reading import pull_and_ack
from tests.support.dt import PROJECT, example_body, with_event
from tests.support.pubsub import create_topic_with_subscription

# About the route function itself (the BigQuery subscription router has no such code).
pytestmark = pytest.mark.function_router


class FakeBigQuery:
    """`insert_rows_json` as BigQuery answers it; rows whose event_id is in `invalid` are refused,
    which stops the rest of their request unless `skip_invalid_rows`; rows in `failing` get that
    per-row reason (a transient one, e.g. timeout). `gate` (when set) holds the first `held` calls."""

    def __init__(
        self, invalid: set[str] = frozenset(), held: int = 0, failing: dict[str, str] | None = None
    ) -> None:
        self.invalid = invalid
        self.failing = failing or {}
        self.written: list[str] = []
        self.invalid_message = "no such field: bogus"
        self.held = held
        self.gate = threading.Event()
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def insert_rows_json(
        self,
        table: str,
        rows: list[dict[str, Any]],
        row_ids: list[str],
        skip_invalid_rows: bool = False,
        **_: Any,
    ) -> list:
        with self.lock:
            self.calls.append([row["event_id"] for row in rows])
            hold = len(self.calls) <= self.held
        if hold:
            assert self.gate.wait(30)
        ids = [row["event_id"] for row in rows]
        stopped = bool(self.invalid & set(ids)) and not skip_invalid_rows
        errors = []
        for index, event_id in enumerate(ids):
            if event_id in self.invalid:
                errors.append(
                    {"index": index, "errors": [{"reason": "invalid", "message": self.invalid_message}]}
                )
            elif event_id in self.failing:
                errors.append(
                    {"index": index, "errors": [{"reason": self.failing[event_id], "message": "x"}]}
                )
            elif stopped:
                errors.append({"index": index, "errors": [{"reason": "stopped", "message": ""}]})
            else:
                self.written.append(event_id)
        return errors


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


def push_request(body: bytes, **attributes: str) -> bytes:
    """The body of Pub/Sub's push request for a message of `body` and `attributes`."""
    message = {"data": base64.b64encode(body).decode(), "attributes": attributes, "messageId": new_xid(),
               "publishTime": "2026-01-01T00:00:00.000Z"}  # fmt: skip
    return json.dumps({"message": message, "subscription": "projects/local/subscriptions/s"}).encode()


def push_event(body: bytes, **attributes: str) -> push.PushedMessage:
    return push.parse(push_request(body, **attributes))


def event(event_id: str, table: str = "temperature") -> push.PushedMessage:
    return push_event(with_event(example_body(table), eventId=event_id), eventId=event_id)


BAD_PUSH_REQUESTS = {
    b"": "the body is not JSON",
    b"\xff\xfe": "the body is not JSON",
    b"[1, 2]": "the body holds no Pub/Sub message (no `message` object)",
    b'{"subscription": "s"}': "the body holds no Pub/Sub message (no `message` object)",
    b'{"message": "not an object"}': "the body holds no Pub/Sub message (no `message` object)",
    b'{"message": {"data": "not base64!"}}': "message.data is not base64",
    b'{"message": {"data": 12}}': "message.data is not a string",
    b'{"message": {"data": "", "attributes": {"a": 1}}}': "message.attributes is not an object of strings",
    b'{"message": {"data": "", "attributes": ["a"]}}': "message.attributes is not an object of strings",
    b'{"message": {"data": "", "messageId": 7}}': "message.messageId is not a string",
}


@pytest.mark.parametrize(("body", "reason"), BAD_PUSH_REQUESTS.items())
def test_a_request_that_is_no_push_envelope_is_answered_400_with_its_reason(
    subscriber, dead_letter_topic, body, reason
):
    topic, inspect = dead_letter_topic
    bigquery = FakeBigQuery()
    text, status = router_for(topic, bigquery).respond(body)
    assert (text, status) == (f"not a Pub/Sub push request: {reason}", 400)
    assert bigquery.calls == []
    assert subscriber.pull(subscription=inspect, max_messages=10, timeout=2).received_messages == []


def test_a_message_of_attributes_only_is_a_push_whose_empty_body_is_dead_lettered(
    subscriber, dead_letter_topic
):
    topic, inspect = dead_letter_topic
    body = json.dumps({"message": {"attributes": {"eventId": "e1"}, "messageId": "m1"}}).encode()
    assert router_for(topic).respond(body) == ("OK", 200)
    [letter] = pull_and_ack(subscriber, inspect, 1)
    assert letter.data == b"" and letter.attributes["originalMessageId"] == "m1"
    assert letter.attributes["deadLetterReason"].startswith("not a DT event")


def test_the_answer_is_200_once_written_and_500_while_bigquery_is_down(dead_letter_topic):
    class DownBigQuery(FakeBigQuery):
        def insert_rows_json(self, *args: Any, **kwargs: Any) -> list:
            raise ConnectionError("BigQuery unreachable")

    body = with_event(example_body("temperature"), eventId=(event_id := new_xid()))
    bigquery = FakeBigQuery()
    assert router_for(dead_letter_topic[0], bigquery).respond(push_request(body)) == ("OK", 200)
    assert bigquery.written == [event_id]
    text, status = router_for(dead_letter_topic[0], DownBigQuery()).respond(push_request(body))
    assert status == 500 and "redeliver" in text


def test_a_failed_dead_letter_publish_is_retried_never_acked(publisher, subscriber):
    missing_topic = publisher.topic_path(PROJECT, "never-created-" + new_xid())
    router = router_for(missing_topic, dead_letter_timeout=2)
    with pytest.raises(Exception, match="Pub/Sub"):
        router.handle(push_event(b"not a DT event", eventId="x"))
    text, status = router.respond(push_request(b"not a DT event", eventId="x"))
    assert status == 500, text  # not acked: Pub/Sub redelivers


def test_the_dead_letter_publish_deadline_comes_from_the_environment(dead_letter_topic):
    env = {"BIGQUERY_DATASET": "local.dt", "DEAD_LETTER_TOPIC": dead_letter_topic[0],
           "DEAD_LETTER_TIMEOUT_SECONDS": "2.5"}  # fmt: skip
    assert RouterConfig.from_env(env).dead_letter_timeout_seconds == 2.5
    assert RouterConfig.from_env(env | {"DEAD_LETTER_TIMEOUT_SECONDS": ""}).dead_letter_timeout_seconds == 10


def test_a_row_refused_by_bigquery_is_dead_lettered_and_the_good_rows_of_its_request_written_at_once(
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
        assert stopped.result(10) is None  # written in the same request: no delivery attempt lost
    assert bigquery.calls[0] == [first]
    assert sorted(bigquery.calls[1]) == sorted([bad, good]), bigquery.calls
    assert bigquery.written == [first, good] and len(bigquery.calls) == 2
    [letter] = pull_and_ack(subscriber, inspect, 1)
    assert letter.attributes["eventId"] == bad
    assert "no such field: bogus" in letter.attributes["deadLetterReason"]


TRANSIENT_REASONS = [
    "stopped",
    "timeout",
    "backendError",
    "internalError",
    "rateLimitExceeded",
    "someNewReason",
]


@pytest.mark.parametrize("seed", range(3))
def test_only_an_invalid_row_is_poison_every_other_per_row_reason_is_retried(
    subscriber, dead_letter_topic, seed
):
    """Generated per-row errors: a random mix of reasons over one request's rows."""
    topic, inspect = dead_letter_topic
    rng = random.Random(seed)
    ids = [new_xid() for _ in range(12)]
    reasons = {event_id: rng.choice([*TRANSIENT_REASONS, "invalid", None]) for event_id in ids}
    bigquery = FakeBigQuery(
        invalid={i for i, r in reasons.items() if r == "invalid"},
        failing={i: r for i, r in reasons.items() if r not in (None, "invalid")},
        held=1,
    )
    router = router_for(topic, bigquery)
    with ThreadPoolExecutor(len(ids) + 1) as pool:
        busy = pool.submit(router.handle, event(new_xid()))
        deadline = time.monotonic() + 10
        while not bigquery.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        outcomes = {event_id: pool.submit(router.handle, event(event_id)) for event_id in ids}
        time.sleep(0.3)  # all queued behind the held call: they share the next request
        bigquery.gate.set()
        busy.result(10)
        for event_id, outcome in outcomes.items():
            if reasons[event_id] in TRANSIENT_REASONS:
                with pytest.raises(BigQueryUnavailable, match=reasons[event_id]):
                    outcome.result(10)
            else:  # written, or dead-lettered (acked either way)
                assert outcome.result(10) is None
    assert sorted(bigquery.calls[1]) == sorted(ids)
    assert set(bigquery.written[1:]) == {i for i, r in reasons.items() if r is None}
    poison = {i for i, r in reasons.items() if r == "invalid"}
    letters = pull_and_ack(subscriber, inspect, len(poison)) if poison else []
    assert {letter.attributes["eventId"] for letter in letters} == poison


def test_a_body_ingest_kept_as_invalid_is_dead_lettered_with_its_reason(subscriber, dead_letter_topic):
    topic, inspect = dead_letter_topic
    bigquery = FakeBigQuery()
    body = with_event(example_body("temperature"), eventId=new_xid())  # even a valid one: the marker decides
    router_for(topic, bigquery).handle(
        push_event(body, invalidBody="event.timestamp is malformed", source="webhook")
    )
    [letter] = pull_and_ack(subscriber, inspect, 1)
    assert letter.data == body
    assert (
        letter.attributes["deadLetterReason"]
        == "not a DT event (kept by ingest): event.timestamp is malformed"
    )
    assert bigquery.calls == []


def test_a_dead_letter_keeps_within_pubsubs_attribute_limits_whatever_its_reason_and_attributes(
    subscriber, dead_letter_topic
):
    topic, inspect = dead_letter_topic
    bigquery = FakeBigQuery(invalid={event_id := new_xid()})
    attributes = {f"k{i}": "é" * 600 for i in range(120)} | {"ü" * 200: "x", "eventId": event_id}
    bigquery.invalid_message = "é" * 2000
    router_for(topic, bigquery).handle(
        push_event(with_event(example_body("temperature"), eventId=event_id), **attributes)
    )
    [letter] = pull_and_ack(subscriber, inspect, 1)
    assert len(letter.attributes) <= 100
    assert all(len(k.encode()) <= 256 and len(v.encode()) <= 1024 for k, v in letter.attributes.items())
    assert letter.attributes["deadLetterReason"].startswith("BigQuery refused the row")
    assert letter.attributes["originalMessageId"]


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
    [letter] = pull_and_ack(subscriber, inspect, 1)
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

    def large(event_id: str) -> push.PushedMessage:
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


class TableRecordingBigQuery(FakeBigQuery):
    """FakeBigQuery that also records the table of each call, and each row's record (its type)."""

    def __init__(self, held: int = 0) -> None:
        super().__init__(held=held)
        self.tables: list[str] = []
        self.records: list[set[str]] = []

    def insert_rows_json(
        self, table: str, rows: list[dict[str, Any]], row_ids: list[str], **kwargs: Any
    ) -> list:
        with self.lock:
            self.tables.append(table)
            self.records.append(
                {key for row in rows for key, value in row.items() if isinstance(value, dict)}
            )
        return super().insert_rows_json(table, rows, row_ids, **kwargs)


def test_events_of_every_type_arriving_together_share_one_insert_into_events_log(dead_letter_topic):
    """One landing table: a burst of mixed types is one batch, not one per type."""
    from functions import catalogue

    bigquery = TableRecordingBigQuery(held=1)
    router = router_for(dead_letter_topic[0], bigquery)
    tables = sorted(table.name for table in catalogue.event_tables().values())
    with ThreadPoolExecutor(len(tables) + 1) as pool:
        first = pool.submit(router.handle, event(new_xid(), "touch"))
        while not bigquery.calls:  # the first call is in flight (held): the others queue behind it
            time.sleep(0.01)
        burst = [pool.submit(router.handle, event(new_xid(), table)) for table in tables]
        time.sleep(1)
        bigquery.gate.set()
        for future in [first, *burst]:
            future.result(timeout=30)
    assert set(bigquery.tables) == {f"{PROJECT}.dt.{catalogue.LANDING_TABLE}"}
    assert sorted(set().union(*bigquery.records)) == tables  # each row holds its own type's record only
    # One writer per type would have sent the burst in one call per type at once; here it
    # waited behind the call in flight and went in one (or, on a slow machine, a few) calls.
    assert len(bigquery.calls) < len(tables), bigquery.calls
    assert max(len(records) for records in bigquery.records) > len(tables) // 2
