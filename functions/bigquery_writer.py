"""Streaming inserts into BigQuery, batched across concurrent requests, with a deadline.

Each request hands its row to `BatchWriter.write` and waits for the outcome of that row.
A background thread sends the rows that arrived together in one `insertAll` per table, so
an instance serving many concurrent Pub/Sub pushes makes few, larger requests.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from google.api_core.client_options import ClientOptions
from google.cloud import bigquery

from functions.config import RouterConfig
from functions.errors import PoisonMessage

_MAX_ROWS_PER_INSERT = 500
_MAX_WAIT_SECONDS = 0.02


class BigQueryUnavailable(Exception):
    """BigQuery failed or was too slow: the message must be redelivered."""


@dataclass
class _Pending:
    table: str
    row: dict[str, Any]
    row_id: str
    outcome: Future[None] = field(default_factory=Future)


class BatchWriter:
    """Inserts rows into `<project>.<dataset>.<table>`; one client and one sender thread per process."""

    def __init__(self, config: RouterConfig) -> None:
        self._config = config
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._client: bigquery.Client | None = None
        self._sender: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._sender is None or not self._sender.is_alive():
                options = ClientOptions(api_endpoint=self._config.bigquery_api_endpoint)
                if self._config.bigquery_api_endpoint:
                    from google.auth.credentials import AnonymousCredentials

                    self._client = bigquery.Client(
                        project=self._config.bigquery_project,
                        credentials=AnonymousCredentials(),
                        client_options=options,
                    )
                else:
                    self._client = bigquery.Client(project=self._config.bigquery_project)
                self._sender = threading.Thread(
                    target=self._send_forever, name="bigquery-writer", daemon=True
                )
                self._sender.start()

    def write(self, table: str, row: dict[str, Any], row_id: str) -> None:
        """Insert one row; raises BigQueryUnavailable (retry) or PoisonMessage (never retry)."""
        self._start()
        pending = _Pending(table, row, row_id)
        self._queue.put(pending)
        pending.outcome.result(timeout=self._config.bigquery_timeout_seconds + 5)

    def _send_forever(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + _MAX_WAIT_SECONDS
            while len(batch) < _MAX_ROWS_PER_INSERT and (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            by_table: dict[str, list[_Pending]] = defaultdict(list)
            for pending in batch:
                by_table[pending.table].append(pending)
            for table, rows in by_table.items():
                self._insert(table, rows)

    def _insert(self, table: str, rows: list[_Pending]) -> None:
        assert self._client is not None
        config = self._config
        table_id = f"{config.bigquery_project}.{config.bigquery_dataset}.{table}"
        timeout = config.bigquery_timeout_seconds
        try:
            errors = self._client.insert_rows_json(
                table_id,
                [pending.row for pending in rows],
                row_ids=[pending.row_id for pending in rows],
                timeout=timeout,
                retry=bigquery.DEFAULT_RETRY.with_deadline(timeout),
            )
        except Exception as error:  # 5xx, network, deadline, missing table: worth a retry
            for pending in rows:
                pending.outcome.set_exception(
                    BigQueryUnavailable(f"{table_id}: {type(error).__name__}: {error}")
                )
            return
        refused = {entry["index"]: entry.get("errors", []) for entry in errors}
        for index, pending in enumerate(rows):
            if index not in refused:
                pending.outcome.set_result(None)
            elif all(error.get("reason") == "stopped" for error in refused[index]):
                # Refused only because another row of the batch was invalid: retry it.
                pending.outcome.set_exception(
                    BigQueryUnavailable(f"{table_id}: row stopped by another row's error")
                )
            else:
                pending.outcome.set_exception(
                    PoisonMessage(f"BigQuery refused the row for {table_id}: {refused[index]}")
                )
