"""`dt-bigquery-ops replay-dead-letters`, run as an operator runs it (tests/support/ops.py)."""

from __future__ import annotations

from tests.support.ops import (
    copies_in_views,
    dead_letter,
    ids_sql,
    ops,
    summary,
    topic_with_subscription,
)


def test_replay_lists_then_republishes_dead_letters_and_acknowledges_them(pipeline, fake_dt):
    topic, subscription = topic_with_subscription(pipeline, "dead-letters")
    refused = dead_letter(pipeline, topic, deadLetterReason="BigQuery refused the row: no such field",
                          deadLetteredAt="2025-03-11T08:20:00+00:00", originalMessageId="17")  # fmt: skip
    exhausted = [
        dead_letter(
            pipeline,
            topic,
            CloudPubSubDeadLetterSourceDeliveryCount="5",
            CloudPubSubDeadLetterSourceSubscription="dt-events-to-route",
        )
        for _ in range(2)
    ]
    events = [refused["event"], *(document["event"] for document in exhausted)]
    replay = [
        "replay-dead-letters",
        "--subscription",
        subscription,
        "--topic",
        pipeline.topic_path,
        "--wait",
        "1",
    ]

    listed = ops(pipeline, fake_dt, *replay, "--dry-run", "--json")

    assert listed.returncode == 0, listed.stderr
    reasons = {m["eventId"]: m["deadLetterReason"] for m in summary(listed)["messages"]}
    assert reasons == {
        refused["event"]["eventId"]: "BigQuery refused the row: no such field",
        **{
            d["event"]["eventId"]: "not written after 5 delivery attempts (dead-lettered by Pub/Sub)"
            for d in exhausted
        },
    }
    [when] = [
        m["deadLetteredAt"]
        for m in summary(listed)["messages"]
        if m["eventId"] == refused["event"]["eventId"]
    ]
    assert when == "2025-03-11T08:20:00Z"
    assert summary(ops(pipeline, fake_dt, *replay, "--max", "2", "--json"))["replayed"] == 2
    rest = ops(pipeline, fake_dt, *replay)
    assert rest.returncode == 0 and "1 of 1 dead letters republished" in rest.stdout
    assert summary(ops(pipeline, fake_dt, *replay, "--dry-run", "--json"))["found"] == 0
    assert copies_in_views(pipeline, events) == {event["eventId"]: 1 for event in events}
    rows = pipeline.query(f"SELECT source, raw FROM {{dataset}}.touch WHERE event_id IN ({ids_sql(events)})")
    assert {row["source"] for row in rows} == {"replay"}
    assert sorted(row["raw"]["event"]["eventId"] for row in rows) == sorted(
        event["eventId"] for event in events
    )
