"""Create the dataset, the tables and the views, from the same schema files as Terraform.

Used by the local pipeline and the tests against bqemulator; in the cloud Terraform does
the same from the same files (terraform/bigquery.tf).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from string import Template

from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery

from functions import catalogue

VIEW_DIR = catalogue.SCHEMA_DIR / "views"
DEDUPE_VIEW = VIEW_DIR / "dedupe.sql"


def render(path: Path, project: str, dataset: str, **values: str) -> str:
    """The SQL of a view file with its ${project}, ${dataset} (and ${table}) filled in."""
    return Template(path.read_text()).substitute(project=project, dataset=dataset, **values)


def view_files() -> list[Path]:
    """The shared views, those that others read first (e.g. `events` before `device_last_seen`)."""
    files = {path.stem: path for path in VIEW_DIR.glob("*.sql") if path != DEDUPE_VIEW}
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


def _create(client: bigquery.Client, table: bigquery.Table) -> None:
    with contextlib.suppress(google_exceptions.Conflict):
        client.create_table(table, timeout=30)


def create_all(client: bigquery.Client, project: str, dataset: str) -> None:
    """Create everything that does not exist yet (safe to run twice)."""
    with contextlib.suppress(google_exceptions.Conflict):
        client.create_dataset(bigquery.Dataset(f"{project}.{dataset}"), timeout=30)
    for spec in catalogue.all_tables():
        table = bigquery.Table(
            f"{project}.{dataset}.{spec.log_table}",
            schema=[bigquery.SchemaField.from_api_repr(field) for field in spec.schema],
        )
        table.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field="timestamp"
        )
        table.clustering_fields = ["device_id"]
        _create(client, table)
        view = bigquery.Table(f"{project}.{dataset}.{spec.name}")
        view.view_query = render(DEDUPE_VIEW, project, dataset, table=spec.name)
        _create(client, view)
    for path in view_files():
        view = bigquery.Table(f"{project}.{dataset}.{path.stem}")
        view.view_query = render(path, project, dataset)
        _create(client, view)
