"""The example queries in the README run on the emulator and answer something."""

from __future__ import annotations

import re

import pytest

from local.fleet import run_fleet
from tests.conftest import ROOT, SECRET, wait_for_rows

QUERIES = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)


def test_the_readme_has_example_queries():
    assert len(QUERIES) >= 5


@pytest.fixture(scope="module")
def fleet_data(pipeline):
    report = run_fleet(
        pipeline.ingest_url, SECRET, devices_per_type=1, events_per_device=4, period_hours=12, seed=11
    )
    assert not report.refused
    wait_for_rows(pipeline, "SELECT DISTINCT device_id FROM {dataset}.desk_occupancy", 1)
    return report


@pytest.mark.parametrize("sql", QUERIES, ids=[f"query{i}" for i in range(len(QUERIES))])
def test_each_readme_query_runs_and_finds_the_fleets_events(pipeline, fleet_data, sql):
    rows = wait_for_rows(pipeline, sql, 1, timeout=30)
    assert rows, sql
