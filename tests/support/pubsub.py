"""Pub/Sub in the tests: a topic with a subscription to check what reached it."""

from __future__ import annotations

from google.cloud import pubsub_v1

from tests.support.dt import PROJECT


def create_topic_with_subscription(
    publisher: pubsub_v1.PublisherClient, subscriber: pubsub_v1.SubscriberClient, name: str
) -> tuple[str, str]:
    topic = publisher.topic_path(PROJECT, name)
    subscription = subscriber.subscription_path(PROJECT, name + "-check")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic)
    return topic, subscription
