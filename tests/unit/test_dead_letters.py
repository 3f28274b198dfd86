"""What a replayed dead letter carries (no emulator)."""

from __future__ import annotations

from dt_bigquery_ops.dead_letters import replay_attributes


def test_a_replayed_message_keeps_its_original_attributes_only():
    attributes = {
        "eventId": "e1", "eventType": "touch", "deviceId": "d1", "projectId": "p1", "timestamp": "t",
        "deviceType": "touch", "source": "webhook", "deadLetterReason": "r", "deadLetteredAt": "t",
        "originalMessageId": "17", "CloudPubSubDeadLetterSourceDeliveryCount": "5",
    }  # fmt: skip
    assert replay_attributes(attributes) == {
        "eventId": "e1", "eventType": "touch", "deviceId": "d1", "projectId": "p1", "timestamp": "t",
        "deviceType": "touch", "source": "replay",
    }  # fmt: skip
