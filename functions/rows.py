"""Turn a DT event into a BigQuery row that fits the landing table's schema.

The mapping is generic: a column named `update_time` is filled from the field `updateTime`
of `event.data.<eventType>`, converted to the column's type. A value that does not fit its
column becomes NULL (it is still in `raw`) and its column's path is listed in `unfit_columns`,
so BigQuery never refuses a row for a type error and a change of DT's format shows in a query
(`SELECT event_type, c, COUNT(*) FROM events_log, UNNEST(unfit_columns) c GROUP BY 1, 2`).
Non-finite numbers cannot occur: `envelope.parse` refuses NaN, Infinity and numbers beyond
the float range.

The JavaScript transform of the BigQuery subscription router (functions/transform/) does exactly
the same; tests/unit/test_transform_parity.py holds the two to the same row.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from . import timestamps
from .catalogue import Table, to_camel_case
from .envelope import Envelope

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UNFIT_COLUMN = "unfit_columns"


def _integer(value: int | float) -> int | None:
    if isinstance(value, float):
        if not value.is_integer():  # also False for inf and nan
            return None
        value = int(value)
    return value if INT64_MIN <= value <= INT64_MAX else None


def _json(value: Any) -> str | None:
    try:
        return json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return None


def _scalar(value: Any, column_type: str) -> Any:
    """`value` converted to BigQuery's `column_type`, or None when it does not fit."""
    if value is None:
        return None
    if column_type in ("FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            number = float(value)
        except OverflowError:  # an int beyond the float range
            return None
        return number if math.isfinite(number) else None
    if column_type in ("INTEGER", "INT64"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return _integer(value)
    if column_type in ("BOOLEAN", "BOOL"):
        return value if isinstance(value, bool) else None
    if column_type == "TIMESTAMP":
        try:
            return timestamps.to_rfc3339(timestamps.parse(value))
        except ValueError:
            return None
    if column_type == "JSON":
        return _json(value)
    if column_type == "STRING":
        return value if isinstance(value, str) else _json(value)
    raise ValueError(f"column type {column_type} is not supported by the row mapper")


def _note(unfit: list[str] | None, path: str) -> None:
    if unfit is not None and path not in unfit:
        unfit.append(path)


def _column(field: dict[str, Any], value: Any, unfit: list[str] | None, path: str) -> Any:
    column_type = field["type"].upper()
    if field.get("mode", "NULLABLE").upper() == "REPEATED":
        if value is not None and not isinstance(value, list):
            _note(unfit, path)
        items = value if isinstance(value, list) else []
        kept = [_column({**field, "mode": "NULLABLE"}, item, unfit, path) for item in items]
        return [item for item in kept if item is not None]
    converted: Any
    if column_type in ("RECORD", "STRUCT"):
        converted = fill(field["fields"], value, unfit, path + ".") if isinstance(value, dict) else None
    else:
        converted = _scalar(value, column_type)
    if converted is None and value is not None:
        _note(unfit, path)
    return converted


def fill(
    fields: list[dict[str, Any]] | tuple[dict[str, Any], ...],
    data: dict[str, Any],
    unfit: list[str] | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Columns `fields` filled from the camelCase keys of `data` (recursively for records); the
    paths (`prefix` + column) of values that did not fit are added to `unfit`."""
    return {
        field["name"]: _column(field, data.get(to_camel_case(field["name"])), unfit, prefix + field["name"])
        for field in fields
    }


def _label(labels: dict[str, Any], key: str, unfit: list[str], column: str) -> str | None:
    value = labels.get(key)
    if value is not None and not isinstance(value, str):
        _note(unfit, column)
        return None
    return value


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
    unfit: list[str] = []
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "device_id": event.device_id,
        "project_id": event.project_id,
        "timestamp": timestamps.to_rfc3339(event.timestamp),
        "device_type": _scalar(metadata.get("deviceType"), "STRING"),
        "product_number": _scalar(metadata.get("productNumber"), "STRING") or None,
        "device_name": _label(event.labels, "name", unfit, "device_name"),
        "device_description": _label(event.labels, "description", unfit, "device_description"),
        "labels": _scalar(event.labels, "JSON"),
        "raw": body.decode("utf-8"),
        "source": source,
        "pubsub_message_id": message_id,
        "published_at": _column({"type": "TIMESTAMP"}, published_at, unfit, "published_at"),
        "ingested_at": timestamps.to_rfc3339(ingested_at),
    }
    # Unknown types keep their whole `event.data`; known types get typed columns from `data.<type>`.
    values = event.document["event"] if table.event_type is None else (event.data or {})
    row[table.name] = fill(table.own_fields, values, unfit, table.name + ".")
    row[UNFIT_COLUMN] = unfit
    return row
