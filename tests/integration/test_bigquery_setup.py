"""`python -m local.bigquery_setup` on a real BigQuery endpoint (bqemulator): the dataset, the one
landing table and every view, as Terraform makes them; and the migration from the 20-table layout
of before, run on tables of that layout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from google.cloud import bigquery

from functions import catalogue, envelope, rows
from functions.bigquery_writer import bigquery_client
from local import bigquery_setup, emulators
from local.servers import free_port
from tests.support.dt import example_body
from tests.support.paths import ROOT

PROJECT = "setupcheck"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("bigquery-setup")
    emulator = emulators.BigQueryEmulator(free_port(), folder, folder / "data", PROJECT, free_port())
    emulator.start()
    try:
        yield f"http://{emulator.host}"
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def client(endpoint: str) -> bigquery.Client:
    return bigquery_client(PROJECT, endpoint)


def setup_command(endpoint: str, dataset: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "local.bigquery_setup", "--endpoint", endpoint, "--project", PROJECT]
    return subprocess.run(
        [*command, "--dataset", dataset, *extra], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def query(client: bigquery.Client, sql: str) -> list[dict]:
    return [dict(row.items()) for row in client.query(sql, timeout=60).result(timeout=60)]


def landing_row(table: catalogue.Table, body: bytes) -> dict:
    event = envelope.parse(body)
    return rows.build(table, event, body, "webhook", "m-1", None, datetime.now(UTC))


def unknown_body(event_id: str) -> bytes:
    """An event of a type the catalogue does not know."""
    document = json.loads(example_body("temperature"))
    document["event"].update(eventId=event_id, eventType="airQuality", data={"airQuality": {"voc": 3.5}})
    return json.dumps(document).encode()


def body_of(table: catalogue.Table) -> bytes:
    return example_body(table.name) if table.event_type else unknown_body("c" * 20)


def test_the_command_creates_the_landing_table_and_every_view_and_may_run_twice(endpoint, client):
    for _ in range(2):
        result = setup_command(endpoint, "fresh")
        assert result.returncode == 0, result.stderr
    assert "events_log, dead_letters and the views are in place" in result.stdout

    landing = client.get_table(f"{PROJECT}.fresh.{catalogue.LANDING_TABLE}")
    assert [field.to_api_repr() for field in landing.schema] == [
        bigquery.SchemaField.from_api_repr(field).to_api_repr() for field in catalogue.landing_fields()
    ]
    assert (landing.time_partitioning.type_, landing.time_partitioning.field) == ("DAY", "timestamp")
    assert landing.clustering_fields == ["event_type", "device_id"]
    dead_letters = client.get_table(f"{PROJECT}.fresh.dead_letters")
    assert [field.name for field in dead_letters.schema] == [
        "data", "attributes", "message_id", "publish_time", "subscription_name"
    ]  # fmt: skip
    names = {table.table_id for table in client.list_tables(f"{PROJECT}.fresh")}
    views = {path.stem for path in bigquery_setup.view_files()}
    assert names == {"events_log", "dead_letters"} | {t.name for t in catalogue.all_tables()} | views


def test_a_bad_dataset_name_is_refused_before_any_call(endpoint):
    result = setup_command(endpoint, "no-hyphens")
    assert result.returncode == 2 and "only letters, digits and underscores" in result.stderr


def test_each_typed_view_shows_its_type_once_with_its_own_columns(endpoint, client):
    assert setup_command(endpoint, "typed").returncode == 0
    batch = [landing_row(table, body_of(table)) for table in catalogue.all_tables()]
    assert client.insert_rows_json(f"{PROJECT}.typed.events_log", batch + batch[:3], timeout=60) == []

    for table in catalogue.all_tables():
        [row] = query(client, f"SELECT * FROM typed.{table.name}")
        assert list(row) == [field["name"] for field in table.schema], table.name
        expected = next(r for r in batch if r.get(table.name) is not None)
        assert row["event_id"] == expected["event_id"]
        assert row["event_type"] == expected["event_type"]
    [unknown_row] = query(client, "SELECT event_type, data FROM typed.unknown_events")
    assert unknown_row == {"event_type": "airQuality", "data": {"airQuality": {"voc": 3.5}}}
    [count] = query(client, "SELECT COUNT(*) AS n, COUNT(DISTINCT event_type) AS types FROM typed.events")
    assert count == {"n": len(batch), "types": len(batch)}


def test_the_migration_copies_the_20_table_layout_into_events_log(endpoint, client):
    """The old layout: one `<table>_log` per table, the common columns then the table's own."""
    client.create_dataset(f"{PROJECT}.old", timeout=30)
    copied = []
    for table in catalogue.all_tables():
        old = bigquery.Table(
            f"{PROJECT}.old.{table.name}_log",
            schema=[bigquery.SchemaField.from_api_repr(field) for field in table.schema],
        )
        client.create_table(old, timeout=30)
        row = landing_row(table, body_of(table))
        flat = {key: value for key, value in row.items() if key != table.name} | row[table.name]
        assert client.insert_rows_json(old, [flat, flat], timeout=60) == []  # a redelivery, too
        copied.append(row)

    assert setup_command(endpoint, "old").returncode == 0  # the upgrade: events_log and the new views
    printed = setup_command(endpoint, "old", "--print-migration")
    assert printed.returncode == 0 and printed.stdout == bigquery_setup.migration_sql(PROJECT, "old")
    statements = [sql for sql in printed.stdout.split(";\n") if sql.strip()]
    assert len(statements) == len(catalogue.all_tables())
    for sql in statements:
        client.query(sql, timeout=60).result(timeout=60)

    [total] = query(client, "SELECT COUNT(*) AS n FROM old.events_log")
    assert total["n"] == 2 * len(copied)
    for table, row in zip(catalogue.all_tables(), copied, strict=True):
        [shown] = query(client, f"SELECT * FROM old.{table.name}")
        assert shown["event_id"] == row["event_id"], table.name
        for field in table.own_fields:
            if field["type"] not in ("TIMESTAMP", "JSON", "RECORD"):
                assert shown[field["name"]] == row[table.name][field["name"]], (table.name, field["name"])
