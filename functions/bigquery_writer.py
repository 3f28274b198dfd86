"""Streaming inserts into BigQuery, batched across concurrent requests, with a deadline.

Each request hands its row to `BatchWriter.write` and waits for the outcome of that row; every
event lands in the one table `catalogue.LANDING_TABLE`, so rows that arrive together, whatever
their types, share one `insertAll` call (see `batching`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Sequence
from concurrent import futures
from typing import Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from .batching import GroupCommitter, ItemTooLarge, NotSent, QueueFull
from .catalogue import LANDING_TABLE
from .config import RouterConfig
from .errors import PoisonMessage

# BigQuery's documented insertAll limits: 10 MB per HTTP request, 50,000 rows per request,
# 500 rows recommended. The byte budget counts each row as the client encodes it, and leaves
# room for the request's own envelope and headers.
MAX_REQUEST_BYTES = 10_000_000
MAX_ROWS_PER_INSERT = 500
_ROW_BYTES_BUDGET = 9_000_000
# At most this many rows wait for a call; beyond, requests are refused (retryable).
_MAX_QUEUED_ROWS = 5_000
_MAX_QUEUED_BYTES = 64_000_000
_SENDERS = 1  # batches grow while a call is in flight


def encoded_size(row: dict[str, Any], row_id: str) -> int:
    """The bytes `row` adds to an insertAll request, encoded as google-cloud-bigquery does."""
    return len(json.dumps({"json": row, "insertId": row_id})) + 2  # and the ", " between rows


def bigquery_client(project: str, api_endpoint: str | None = None) -> bigquery.Client:
    """A BigQuery client; anonymous when `api_endpoint` names an emulator."""
    if not api_endpoint:
        return bigquery.Client(project=project)
    return bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=api_endpoint),
    )


class BigQueryUnavailable(Exception):
    """BigQuery failed or was too slow: the message must be redelivered."""


class BatchWriter:
    """Inserts rows into `<project>.<dataset>.events_log`; one client per process, made on first use."""

    def __init__(self, config: RouterConfig, client: bigquery.Client | None = None) -> None:
        self._config = config
        self._client = client
        self._lock = threading.Lock()
        self._committer: GroupCommitter[tuple[dict[str, Any], str]] = GroupCommitter(
            self._insert,
            max_items=MAX_ROWS_PER_INSERT,
            max_bytes=_ROW_BYTES_BUDGET,
            max_queued_items=_MAX_QUEUED_ROWS,
            max_queued_bytes=_MAX_QUEUED_BYTES,
            senders_per_key=_SENDERS,
            name="bigquery-insert",
        )

    def _get_client(self) -> bigquery.Client:
        with self._lock:
            if self._client is None:
                self._client = bigquery_client(
                    self._config.bigquery_project, self._config.bigquery_api_endpoint
                )
            return self._client

    def write(self, row: dict[str, Any], row_id: str) -> None:
        """Insert one row into the landing table; raises BigQueryUnavailable (retry) or
        PoisonMessage (never retry).

        The row waits at most half the BigQuery timeout for its call to start; if it has not
        started by then it is withdrawn and never sent (Pub/Sub redelivers the message). So a
        delivery takes at most 1.5 x BIGQUERY_TIMEOUT_SECONDS + 2 s, within the ack deadline.
        """
        timeout = self._config.bigquery_timeout_seconds
        size = encoded_size(row, row_id)
        try:
            self._committer.submit(
                LANDING_TABLE, (row, row_id), size, timeout=timeout / 2, send_timeout=timeout + 2
            )
        except ItemTooLarge as error:
            raise PoisonMessage(
                f"the row for {LANDING_TABLE} can never fit one BigQuery insertAll request "
                f"({MAX_REQUEST_BYTES} bytes at most): {error}"
            ) from None
        except QueueFull as error:
            raise BigQueryUnavailable(f"too many rows wait for BigQuery: {error}") from None
        except NotSent:
            raise BigQueryUnavailable(
                f"BigQuery too slow: the row for {LANDING_TABLE} waited {timeout / 2:g} s"
            ) from None
        except futures.TimeoutError:
            raise BigQueryUnavailable(
                f"no answer from BigQuery for {LANDING_TABLE} within {timeout:g} s"
            ) from None

    def _insert(self, table: Hashable, rows: list[tuple[dict[str, Any], str]]) -> Sequence[Exception | None]:
        config = self._config
        table_id = f"{config.bigquery_project}.{config.bigquery_dataset}.{table}"
        timeout = config.bigquery_timeout_seconds
        try:
            errors = self._get_client().insert_rows_json(
                table_id,
                [row for row, _ in rows],
                row_ids=[row_id for _, row_id in rows],
                # BigQuery then writes the valid rows of a call and reports only the invalid ones,
                # instead of refusing all with `stopped`: one invalid row costs the good rows of
                # its batch no delivery attempt. (insertId keeps any redelivery from doubling.)
                skip_invalid_rows=True,
                timeout=timeout,
                retry=bigquery.DEFAULT_RETRY.with_deadline(timeout),
            )
        except Exception as error:  # 5xx, network, deadline, missing table: worth a retry
            return [BigQueryUnavailable(f"{table_id}: {type(error).__name__}: {error}")] * len(rows)
        refused = {entry["index"]: entry.get("errors", []) for entry in errors}
        return [row_outcome(table_id, refused.get(index)) for index in range(len(rows))]


# The one per-row reason that is about the row itself: it can never be written as it is.
# Every other reason (stopped, timeout, backendError, internalError, rateLimitExceeded, and any
# BigQuery adds) is about the call, so it is retried; max_delivery_attempts bounds the retries.
POISON_REASONS = frozenset({"invalid"})


def row_outcome(table_id: str, reasons: list[dict[str, Any]] | None) -> Exception | None:
    """The outcome of one row of an insertAll call from its `insertErrors` entry (None: written)."""
    if reasons is None:
        return None
    if any(isinstance(reason, dict) and reason.get("reason") in POISON_REASONS for reason in reasons):
        return PoisonMessage(f"BigQuery refused the row for {table_id}: {reasons}")
    named = sorted({str(reason.get("reason")) for reason in reasons if isinstance(reason, dict)})
    return BigQueryUnavailable(
        f"{table_id}: BigQuery did not write the row ({', '.join(named) or 'no reason'})"
    )
