"""Turn a DT event into a BigQuery row that fits its table's schema.

The mapping is generic: a column named `update_time` is filled from the field `updateTime`
of `event.data.<eventType>`, converted to the column's type. A value that does not fit its
column becomes NULL (it is still in `raw`), so BigQuery never refuses a row for a type error.
Non-finite numbers cannot occur: `envelope.parse` refuses NaN and Infinity.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from . import timestamps
from .catalogue import Table, to_camel_case
from .envelope import Envelope


def _scalar(value: Any, column_type: str) -> Any:
    """`value` converted to BigQuery's `column_type`, or None when it does not fit."""
    if value is None:
        return None
    if column_type in ("FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) else None
    if column_type in ("INTEGER", "INT64"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value) if isinstance(value, int) or value.is_integer() else None
    if column_type in ("BOOLEAN", "BOOL"):
        return value if isinstance(value, bool) else None
    if column_type == "TIMESTAMP":
        try:
            return timestamps.to_rfc3339(timestamps.parse(value))
        except ValueError:
            return None
    if column_type == "JSON":
        return json.dumps(value)
    if column_type == "STRING":
        return value if isinstance(value, str) else json.dumps(value)
    raise ValueError(f"column type {column_type} is not supported by the row mapper")


def _column(field: dict[str, Any], value: Any) -> Any:
    column_type = field["type"].upper()
    if field.get("mode", "NULLABLE").upper() == "REPEATED":
        items = value if isinstance(value, list) else []
        converted = [_column({**field, "mode": "NULLABLE"}, item) for item in items]
        return [item for item in converted if item is not None]
    if column_type in ("RECORD", "STRUCT"):
        return fill(field["fields"], value) if isinstance(value, dict) else None
    return _scalar(value, column_type)


def fill(fields: list[dict[str, Any]] | tuple[dict[str, Any], ...], data: dict[str, Any]) -> dict[str, Any]:
    """Columns `fields` filled from the camelCase keys of `data` (recursively for records)."""
    return {field["name"]: _column(field, data.get(to_camel_case(field["name"]))) for field in fields}


def _label(labels: dict[str, Any], key: str) -> str | None:
    value = labels.get(key)
    return value if isinstance(value, str) else None


def build(
    table: Table,
    event: Envelope,
    body: bytes,
    source: str | None,
    message_id: str | None,
    published_at: str | None,
    ingested_at: datetime,
) -> dict[str, Any]:
    """The row of `event` in the landing table: the common columns, then the record named after
    `table` with the type's own columns (the other types' records are left out, hence NULL)."""
    metadata = event.metadata or {}
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "device_id": event.device_id,
        "project_id": event.project_id,
        "timestamp": timestamps.to_rfc3339(event.timestamp),
        "device_type": _scalar(metadata.get("deviceType"), "STRING"),
        "product_number": _scalar(metadata.get("productNumber"), "STRING") or None,
        "device_name": _label(event.labels, "name"),
        "device_description": _label(event.labels, "description"),
        "labels": _scalar(event.labels, "JSON"),
        "raw": body.decode("utf-8"),
        "source": source,
        "pubsub_message_id": message_id,
        "published_at": _scalar(published_at, "TIMESTAMP"),
        "ingested_at": timestamps.to_rfc3339(ingested_at),
    }
    # Unknown types keep their whole `event.data`; known types get typed columns from `data.<type>`.
    values = event.document["event"] if table.event_type is None else (event.data or {})
    row[table.name] = fill(table.own_fields, values)
    return row
