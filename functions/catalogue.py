"""The catalogue of DT event types, read from the BigQuery schema files in `schemas/`.

Each DT event type is declared once, by its schema file `schemas/events/<table>.json`
(`<table>` = the event type in snake_case). The router, the local setup, Terraform, the
tests and the simulated fleet all derive from these files.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
UNKNOWN_TABLE = "unknown_events"
# The one physical table every event lands in, whichever router writes it; the views read it.
LANDING_TABLE = "events_log"


def to_snake_case(name: str) -> str:
    """DT's camelCase names to BigQuery column/table names: objectPresentCount → object_present_count."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def to_camel_case(name: str) -> str:
    """The inverse of to_snake_case: update_time → updateTime."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Table:
    """One typed table: its name, DT event type (None for unknown events) and columns."""

    name: str
    event_type: str | None
    own_fields: tuple[dict[str, Any], ...]

    @property
    def schema(self) -> list[dict[str, Any]]:
        """The columns of the view `name`: the common ones, then this table's own (its record
        in the landing table, flattened)."""
        return [*common_fields(), *self.own_fields]


def _read(path: Path) -> list[dict[str, Any]]:
    fields = json.loads(path.read_text())
    if not isinstance(fields, list):
        raise ValueError(f"{path} is not a BigQuery JSON schema (a list of fields)")
    return fields


@functools.cache
def common_fields() -> tuple[dict[str, Any], ...]:
    return tuple(_read(SCHEMA_DIR / "common.json"))


@functools.cache
def event_tables() -> dict[str, Table]:
    """Every known DT event type (camelCase, as DT sends it) to its table."""
    tables = {}
    for path in sorted((SCHEMA_DIR / "events").glob("*.json")):
        event_type = to_camel_case(path.stem)
        tables[event_type] = Table(path.stem, event_type, tuple(_read(path)))
    return tables


@functools.cache
def unknown_table() -> Table:
    return Table(UNKNOWN_TABLE, None, tuple(_read(SCHEMA_DIR / f"{UNKNOWN_TABLE}.json")))


def all_tables() -> list[Table]:
    return [*event_tables().values(), unknown_table()]


@functools.cache
def landing_fields() -> tuple[dict[str, Any], ...]:
    """The landing table's schema: the common columns, then one NULLABLE RECORD per table of the
    catalogue (named after it, holding that table's own columns), filled only for its event type."""
    records = tuple(
        {
            "name": table.name,
            "type": "RECORD",
            "mode": "NULLABLE",
            "description": f"The columns of {table.event_type or 'an unknown'} events; NULL for other types.",
            "fields": list(table.own_fields),
        }
        for table in all_tables()
    )
    return (*common_fields(), *records)


def table_for(event_type: str) -> Table:
    """The table for `event_type`; types this version does not know go to unknown_events."""
    return event_tables().get(event_type) or unknown_table()
