"""Create the dataset, the landing table `events_log`, the `dead_letters` table and every view,
from the same schema files as Terraform (terraform/bigquery.tf renders the same templates).

    python -m local.bigquery_setup --endpoint http://127.0.0.1:9050 --project local --dataset dt
    python -m local.bigquery_setup --project my-project --dataset dt --print-migration

Used by the local pipeline, the tests and the benchmarks against bqemulator; `--endpoint` may be
any BigQuery endpoint (omit it for Google's, with the ambient credentials).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from pathlib import Path
from string import Template

from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery

from functions import catalogue
from functions.bigquery_writer import bigquery_client

VIEW_DIR = catalogue.SCHEMA_DIR / "views"
TYPED_VIEW = VIEW_DIR / "typed.sql"
DEAD_LETTERS_TABLE = "dead_letters"
DEAD_LETTERS_SCHEMA = catalogue.SCHEMA_DIR / f"{DEAD_LETTERS_TABLE}.json"
# As the routers write and the views read: a day per partition of the event's own time, and
# the rows of one type and device together (the typed views filter on event_type).
LANDING_CLUSTERING = ["event_type", "device_id"]


def render(path: Path, project: str, dataset: str, **values: str) -> str:
    """The SQL of a view file with its ${project}, ${dataset} (and other ${...}) filled in."""
    return Template(path.read_text()).substitute(project=project, dataset=dataset, **values)


def typed_view_values(table: catalogue.Table) -> dict[str, str]:
    """What typed.sql needs for `table`: its columns (the common ones, then its record's fields
    flattened) and the condition on event_type that selects its events."""
    columns = [field["name"] for field in catalogue.common_fields()]
    columns += [f"{table.name}.{field['name']} AS {field['name']}" for field in table.own_fields]
    if table.event_type is not None:
        condition = f"event_type = '{table.event_type}'"
    else:
        known = ", ".join(f"'{event_type}'" for event_type in catalogue.event_tables())
        condition = f"event_type NOT IN ({known})"
    return {"columns": ",\n  ".join(columns), "condition": condition}


def typed_view_sql(table: catalogue.Table, project: str, dataset: str) -> str:
    return render(TYPED_VIEW, project, dataset, **typed_view_values(table))


def migration_sql(project: str, dataset: str, tables: list[catalogue.Table] | None = None) -> str:
    """INSERT ... SELECT statements copying the 20-table layout of before (`<table>_log`, the
    common columns then the table's own) into events_log, one per table: run once after the
    upgrade (docs/deploy.md). Rows already copied are copied again if run twice; the views show
    each event once either way."""
    common = ", ".join(field["name"] for field in catalogue.common_fields())
    statements = []
    for table in tables if tables is not None else catalogue.all_tables():
        own = ", ".join(field["name"] for field in table.own_fields)
        statements.append(
            f"INSERT INTO `{project}.{dataset}.{catalogue.LANDING_TABLE}` ({common}, {table.name})\n"
            f"SELECT {common}, STRUCT({own})\nFROM `{project}.{dataset}.{table.name}_log`;\n"
        )
    return "\n".join(statements)


def view_files() -> list[Path]:
    """The shared views, those that others read first (e.g. `events` before `device_last_seen`)."""
    files = {path.stem: path for path in VIEW_DIR.glob("*.sql") if path != TYPED_VIEW}
    ordered: list[Path] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if files[name] in ordered:
            return
        if name in trail:
            raise ValueError(f"views read each other in a cycle: {' -> '.join((*trail, name))}")
        for other in re.findall(r"\$\{dataset\}\.(\w+)`", files[name].read_text()):
            if other in files and other != name:
                visit(other, (*trail, name))
        ordered.append(files[name])

    for name in sorted(files):
        visit(name, ())
    return ordered


def _schema(fields: list[dict] | tuple[dict, ...]) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField.from_api_repr(field) for field in fields]


def _day_partitioned(table_id: str, fields: list[dict] | tuple[dict, ...], field: str) -> bigquery.Table:
    table = bigquery.Table(table_id, schema=_schema(fields))
    table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=field)
    return table


def _create(client: bigquery.Client, table: bigquery.Table) -> None:
    with contextlib.suppress(google_exceptions.Conflict):
        client.create_table(table, timeout=30)


def create_all(client: bigquery.Client, project: str, dataset: str) -> None:
    """Create everything that does not exist yet (safe to run twice)."""
    with contextlib.suppress(google_exceptions.Conflict):
        client.create_dataset(bigquery.Dataset(f"{project}.{dataset}"), timeout=30)
    landing = _day_partitioned(
        f"{project}.{dataset}.{catalogue.LANDING_TABLE}", catalogue.landing_fields(), "timestamp"
    )
    landing.clustering_fields = LANDING_CLUSTERING
    _create(client, landing)
    dead_letters = json.loads(DEAD_LETTERS_SCHEMA.read_text())
    _create(
        client, _day_partitioned(f"{project}.{dataset}.{DEAD_LETTERS_TABLE}", dead_letters, "publish_time")
    )
    for spec in catalogue.all_tables():
        view = bigquery.Table(f"{project}.{dataset}.{spec.name}")
        view.view_query = typed_view_sql(spec, project, dataset)
        _create(client, view)
    for path in view_files():
        view = bigquery.Table(f"{project}.{dataset}.{path.stem}")
        view.view_query = render(path, project, dataset)
        _create(client, view)


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint", help="BigQuery API endpoint, e.g. http://127.0.0.1:9050 (default: Google's)"
    )
    parser.add_argument("--project", required=True, help="project of the dataset")
    parser.add_argument("--dataset", required=True, help="dataset id, created if missing")
    parser.add_argument(
        "--print-migration",
        action="store_true",
        help="print the SQL that copies the 20 <table>_log tables of before into events_log, and exit",
    )
    options = parser.parse_args(arguments)
    if not re.fullmatch(r"[A-Za-z0-9_]{1,1024}", options.dataset):
        parser.error(f"--dataset {options.dataset!r}: only letters, digits and underscores")
    if options.print_migration:
        print(migration_sql(options.project, options.dataset), end="")
        return 0
    try:
        create_all(bigquery_client(options.project, options.endpoint), options.project, options.dataset)
    except google_exceptions.GoogleAPICallError as error:
        print(f"error: {options.endpoint or 'BigQuery'}: {error}", file=sys.stderr)
        return 1
    print(
        f"{options.project}.{options.dataset}: {catalogue.LANDING_TABLE}, {DEAD_LETTERS_TABLE} and the views are in place"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
