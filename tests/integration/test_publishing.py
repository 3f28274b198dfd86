"""The one publishing module (ingest, route's dead letters, ops) against the real Pub/Sub emulator."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from google.cloud import pubsub_v1

from dt_bigquery_ops.dead_letters import Replay
from dt_bigquery_ops.errors import OpsError
from dt_bigquery_ops.google_cloud import ConfirmingPublisher
from functions.errors import Unavailable
from functions.publishing import BULK, Publisher
from local.reading import pull_and_ack
from tests.support.dt import PROJECT
from tests.support.pubsub import create_topic_with_subscription


@pytest.fixture(autouse=True)
def _this_modules_emulator(pubsub_host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """New clients must reach the emulator the topics are on (the pipeline fixture has another)."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)


@pytest.fixture(scope="module")
def publisher(pubsub_host: str) -> pubsub_v1.PublisherClient:
    with pytest.MonkeyPatch.context() as patch:  # the clients connect to it when created
        patch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
        return pubsub_v1.PublisherClient()


@pytest.fixture(scope="module")
def subscriber(pubsub_host: str) -> pubsub_v1.SubscriberClient:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
        return pubsub_v1.SubscriberClient()


@pytest.fixture(scope="module")
def topic(publisher, subscriber) -> tuple[str, str]:
    return create_topic_with_subscription(publisher, subscriber, "publishing")


def test_each_way_of_publishing_returns_the_ids_pubsub_confirmed(topic, subscriber):
    client = Publisher(10)
    ids = [client.publish(topic[0], b"sync", {"way": "sync"})]
    ids.append(asyncio.run(client.publish_async(topic[0], b"async", {"way": "async"})))
    ids += Publisher(10, batch=BULK).publish_all(topic[0], [(b"a", {"way": "all"}), (b"b", {"way": "all"})])
    client.close()
    received = pull_and_ack(subscriber, topic[1], 4)
    assert sorted(m.message_id for m in received) == sorted(ids)
    assert sorted((m.data, m.attributes["way"]) for m in received) == [
        (b"a", "all"), (b"async", "async"), (b"b", "all"), (b"sync", "sync")
    ]  # fmt: skip


def test_a_missing_topic_is_unavailable_in_each_way(pubsub_host):
    missing = f"projects/{PROJECT}/topics/no-such-topic"
    client = Publisher(5)
    with pytest.raises(Unavailable, match="Pub/Sub refused the publish: NotFound"):
        client.publish(missing, b"x", {})
    with pytest.raises(Unavailable, match="Pub/Sub refused the publish: NotFound"):
        asyncio.run(client.publish_async(missing, b"x", {}))
    with pytest.raises(Unavailable, match=r"did not confirm 2 of 2 messages to .*no-such-topic"):
        client.publish_all(missing, [(b"x", {}), (b"y", {})])


def test_a_library_error_that_is_not_googles_is_unavailable_too(topic):
    """The client library raises TypeError for a non-text attribute: it must not escape."""
    with pytest.raises(Unavailable, match="TypeError"):
        Publisher(5).publish(topic[0], b"x", {"count": 3})  # type: ignore[dict-item]


def test_ops_sees_a_failed_publish_as_one_line_ops_error(pubsub_host):
    publisher = ConfirmingPublisher(f"projects/{PROJECT}/topics/no-such-topic", timeout_seconds=5)
    with pytest.raises(OpsError) as raised:
        publisher.publish_all([(b"x", {})])
    assert "\n" not in str(raised.value) and "NotFound" in str(raised.value)
    publisher.close()


class _AckFails:
    """The real subscriber, except that acknowledging fails as a dropped connection would."""

    def __init__(self, subscriber) -> None:
        self._subscriber = subscriber

    def __getattr__(self, name: str):
        return getattr(self._subscriber, name)

    def acknowledge(self, **_: object) -> None:
        raise RuntimeError("connection reset by peer\n  (details on a second line)")


def test_a_replay_whose_acknowledge_fails_is_an_ops_error_not_a_traceback(publisher, subscriber):
    dead, dead_subscription = create_topic_with_subscription(publisher, subscriber, "publishing-dead")
    target, target_subscription = create_topic_with_subscription(publisher, subscriber, "publishing-target")
    publisher.publish(dead, b"dead letter", eventId="e1").result(timeout=10)
    replay = Replay(_AckFails(subscriber), dead_subscription, ConfirmingPublisher(target), wait_seconds=2)
    with pytest.raises(OpsError) as raised:
        replay.run()
    message = str(raised.value)
    assert "1 dead letters were republished but not acknowledged" in message
    assert "RuntimeError: connection reset by peer" in message and "\n" not in message
    [republished] = pull_and_ack(subscriber, target_subscription, 1)
    assert republished.data == b"dead letter" and republished.attributes["source"] == "replay"


def test_a_pubsub_that_never_answers_fails_each_way_at_the_deadline(monkeypatch):
    """A server that accepts connections and says nothing: the publish gives up at its deadline."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{silent.getsockname()[1]}")
        client = Publisher(1)
        topic = f"projects/{PROJECT}/topics/silent"
        for publish in (
            lambda: asyncio.run(client.publish_async(topic, b"x", {})),
            lambda: client.publish(topic, b"x", {}),
        ):
            started = time.monotonic()
            with pytest.raises(Unavailable) as raised:
                publish()
            assert "Pub/Sub" in raised.value.message
            assert time.monotonic() - started < 20  # 1 s, with room for a loaded machine
