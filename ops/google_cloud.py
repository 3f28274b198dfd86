"""Pub/Sub and BigQuery as the operations tool uses them.

The client libraries honor `PUBSUB_EMULATOR_HOST`; `BIGQUERY_API_ENDPOINT` points BigQuery at
an emulator (anonymous credentials), as it does for the `route` function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent import futures
from datetime import datetime
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.api_core.retry import Retry
from google.cloud import bigquery, pubsub_v1

from functions.bigquery_writer import bigquery_client as make_bigquery_client
from ops.errors import OpsError

Message = tuple[bytes, dict[str, str]]

# Many messages per request: a backfill publishes whole pages of history at once.
_BATCH = pubsub_v1.types.BatchSettings(max_messages=500, max_bytes=5_000_000, max_latency=0.05)


class ConfirmingPublisher:
    """Publishes a batch of messages and returns only when Pub/Sub has confirmed every one."""

    def __init__(self, topic: str, timeout_seconds: float = 60.0) -> None:
        self.topic = topic
        self._timeout = timeout_seconds
        self._client = pubsub_v1.PublisherClient(batch_settings=_BATCH)

    def publish_all(self, messages: Sequence[Message]) -> list[str]:
        """The message ids, in order; raises OpsError naming how many were not confirmed."""
        retry = Retry(initial=0.1, maximum=5.0, multiplier=2.0, timeout=self._timeout)
        pending = [
            self._client.publish(self.topic, data, retry=retry, timeout=self._timeout, **attributes)
            for data, attributes in messages
        ]
        message_ids: list[str] = []
        failures: list[str] = []
        for future in pending:
            try:
                message_ids.append(future.result(timeout=self._timeout))
            except (futures.TimeoutError, TimeoutError):
                failures.append(f"no confirmation within {self._timeout:g} s")
            except google_exceptions.GoogleAPIError as error:
                failures.append(f"{type(error).__name__}: {error}")
        if failures:
            raise OpsError(
                f"Pub/Sub did not confirm {len(failures)} of {len(pending)} messages to {self.topic} "
                f"(first problem: {failures[0]})"
            )
        return message_ids

    def close(self) -> None:
        self._client.stop()


def bigquery_client(dataset: str, env: Mapping[str, str]) -> bigquery.Client:
    """A client for the dataset's project; anonymous when BIGQUERY_API_ENDPOINT names an emulator."""
    return make_bigquery_client(
        dataset.rsplit(".", 1)[0], env.get("BIGQUERY_API_ENDPOINT", "").strip() or None
    )


def _query(client: bigquery.Client, sql: str, parameters: list[Any]) -> list[dict[str, Any]]:
    config = bigquery.QueryJobConfig(query_parameters=parameters)
    try:
        return [
            dict(row.items()) for row in client.query(sql, job_config=config, timeout=60).result(timeout=120)
        ]
    except google_exceptions.GoogleAPIError as error:
        raise OpsError(f"BigQuery query failed: {type(error).__name__}: {error}") from None


def present_event_ids(
    client: bigquery.Client, dataset: str, device_id: str, start: datetime, end: datetime
) -> set[str]:
    """Event ids of a device already in the dataset's `events` view within [start, end)."""
    # `dataset` was checked against <project>.<dataset> (options.dataset); values are parameters.
    sql = (
        f"SELECT DISTINCT event_id FROM `{dataset}.events` "  # noqa: S608
        "WHERE device_id = @device_id AND timestamp >= @start AND timestamp < @end"
    )
    parameters = [
        bigquery.ScalarQueryParameter("device_id", "STRING", device_id),
        bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
        bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
    ]
    return {row["event_id"] for row in _query(client, sql, parameters)}


def newest_rows(client: bigquery.Client, dataset: str, since: datetime) -> list[dict[str, Any]]:
    """Per event type: the newest event time, the last write and the number of events since `since`."""
    # As above: a checked dataset name, values as parameters.
    sql = (
        "SELECT event_type, MAX(timestamp) AS newest_event, MAX(ingested_at) AS last_written, "  # noqa: S608
        f"COUNT(*) AS events FROM `{dataset}.events` WHERE timestamp >= @since "
        "GROUP BY event_type ORDER BY event_type"
    )
    return _query(client, sql, [bigquery.ScalarQueryParameter("since", "TIMESTAMP", since)])
