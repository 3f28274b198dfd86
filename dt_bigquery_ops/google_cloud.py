"""Pub/Sub and BigQuery as the operations tool uses them.

The client libraries honor `PUBSUB_EMULATOR_HOST`; `BIGQUERY_API_ENDPOINT` points BigQuery at
an emulator (anonymous credentials), as it does for the `route` function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery

from dt_bigquery_ops.deployed import bigquery_writer, errors, publishing
from dt_bigquery_ops.errors import OpsError

Message = publishing.Message  # what `ConfirmingPublisher.publish_all` takes


class ConfirmingPublisher:
    """The functions' publisher bound to one topic, in large batches, failing as `OpsError`."""

    def __init__(self, topic: str, timeout_seconds: float = 60.0) -> None:
        self.topic = topic
        self._publisher = publishing.Publisher(timeout_seconds, batch=publishing.BULK)

    def publish_all(self, messages: Sequence[publishing.Message]) -> list[str]:
        """The message ids, in order; raises OpsError naming how many were not confirmed."""
        try:
            return self._publisher.publish_all(self.topic, messages)
        except errors.Unavailable as error:
            raise OpsError(error.message) from None

    def close(self) -> None:
        try:
            self._publisher.close()
        except errors.Unavailable as error:
            raise OpsError(error.message) from None


def bigquery_client(dataset: str, env: Mapping[str, str]) -> bigquery.Client:
    """A client for the dataset's project; anonymous when BIGQUERY_API_ENDPOINT names an emulator."""
    return bigquery_writer.bigquery_client(
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


def newest_rows(client: bigquery.Client, dataset: str, project: str, since: datetime) -> list[dict[str, Any]]:
    """Per event type, of one DT project (so that another project's events can't hide its silence):
    the newest event time, the last write and the number of events since `since`."""
    # As above: a checked dataset name, values as parameters.
    sql = (
        "SELECT event_type, MAX(timestamp) AS newest_event, MAX(ingested_at) AS last_written, "  # noqa: S608
        f"COUNT(*) AS events FROM `{dataset}.events` WHERE timestamp >= @since AND project_id = @project "
        "GROUP BY event_type ORDER BY event_type"
    )
    parameters = [
        bigquery.ScalarQueryParameter("since", "TIMESTAMP", since),
        bigquery.ScalarQueryParameter("project", "STRING", project),
    ]
    return _query(client, sql, parameters)
