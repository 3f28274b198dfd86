"""BigQuery in the tests: wait for the rows the router writes asynchronously."""

from __future__ import annotations

from typing import Any

from local.pipeline import Pipeline
from local.reading import wait_for_count


def wait_for_rows(pipeline: Pipeline, sql: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """Poll `sql` until it returns at least `count` rows (or `timeout` seconds passed)."""
    rows: list[dict[str, Any]] = []

    def measure() -> int:
        nonlocal rows
        rows = pipeline.query(sql)
        return len(rows)

    wait_for_count(measure, count, timeout)
    return rows
