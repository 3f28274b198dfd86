"""Both routers, the route function and the BigQuery subscription (its stand-in running the
JavaScript transform in Node), land the same rows in events_log for the same messages, and
dead-letter the same ones: each router in a pipeline of its own, fed the same messages."""

from __future__ import annotations

import json
import time

import pytest

from dt_bigquery_ops.dead_letters import reason as dead_letter_reason
from local.dt_signing import new_xid
from local.fleet.pubsub import message_data
from local.pipeline import ROUTERS, Pipeline, PipelineSettings
from local.servers import free_port
from tests.support.dt import SECRET
from tests.support.paths import DT_DATA, EVENT_EXAMPLES
from tests.support.transform_parity import HOSTILE, NOT_JSON, POISON, hostile_body


def gist(reason: str) -> str:
    """A dead letter's reason from "not a DT event" on, without the JSON parser's own words
    (Python's and the transform's differ)."""
    words = reason[reason.index(POISON) :]
    return words[: words.index(NOT_JSON) + len(NOT_JSON)] if NOT_JSON in words else words


def with_new_id(data: bytes) -> bytes:
    document = json.loads(data)
    (document.get("event") or document)["eventId"] = new_xid()
    return json.dumps(document).encode()


def messages() -> list[tuple[bytes, dict[str, str]]]:
    """Every example and real DT body in both shapes, and the hostile values, each a new event."""
    bodies = [path.read_bytes().strip() for path in sorted(EVENT_EXAMPLES.glob("*.json"))]
    bodies += [path.read_bytes().strip() for path in sorted((DT_DATA / "real-bodies").glob("*.json"))]
    found = [(with_new_id(message_data(body, shape)), {}) for body in bodies for shape in ("push", "event")]
    found += [(with_new_id(hostile_body(change)), {"source": "webhook"}) for change in HOSTILE.values()]
    return [*found, (b"not a DT event", {"eventId": "poison"})]


def land(router: str, sent: list[tuple[bytes, dict[str, str]]]) -> tuple[dict[str, dict], dict[bytes, str]]:
    """The rows of events_log by event id, and the dead letters' reasons by data, with `router`."""
    settings = PipelineSettings(
        router=router, ingest_port=free_port(), route_port=free_port(), pubsub_port=free_port(),
        bigquery_port=free_port(), bigquery_grpc_port=free_port(), signature_secret=SECRET,
        max_delivery_attempts=5,
    )  # fmt: skip
    with Pipeline(settings) as pipeline:
        assert pipeline.publisher is not None and pipeline.subscriber is not None
        for data, attributes in sent:
            pipeline.publisher.publish(pipeline.topic_path, data, **attributes).result(timeout=30)
        letters: dict[bytes, str] = {}
        rows: dict[str, dict] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            answer = pipeline.subscriber.pull(
                subscription=pipeline.dead_letter_subscription_path, max_messages=100, timeout=2
            )
            for received in answer.received_messages:
                letters[received.message.data] = dead_letter_reason(dict(received.message.attributes))
            if answer.received_messages:
                pipeline.subscriber.acknowledge(
                    subscription=pipeline.dead_letter_subscription_path,
                    ack_ids=[m.ack_id for m in answer.received_messages],
                )
            rows = pipeline.landed_rows()
            if len(rows) + len(letters) >= len(sent):
                break
            time.sleep(1)
    return rows, letters


@pytest.mark.timeout(600)
def test_both_routers_land_the_same_rows_and_dead_letter_the_same_messages():
    sent = messages()
    (function_rows, function_letters), (subscription_rows, subscription_letters) = (
        land(router, sent) for router in ROUTERS
    )
    assert len(function_rows) + len(function_letters) == len(sent), "the route function lost a message"
    assert subscription_rows.keys() == function_rows.keys()
    for event_id, row in function_rows.items():
        assert subscription_rows[event_id] == row, event_id
    assert any(row["unfit_columns"] for row in function_rows.values()), (
        "no hostile value was nulled and counted"
    )
    assert subscription_letters.keys() == function_letters.keys() and b"not a DT event" in function_letters
    for data, reason in function_letters.items():
        assert gist(subscription_letters[data]) == gist(reason), (reason, subscription_letters[data])
