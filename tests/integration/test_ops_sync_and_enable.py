"""`dt-bigquery-ops sync` and `dt-bigquery-ops enable`, run as an operator runs it (tests/support/ops.py)."""

from __future__ import annotations

import pytest

from tests.support.ops import (
    DT_PROJECT,
    FAST,
    add_connector,
    ops,
)


def test_sync_asks_dt_to_push_the_latest_events_through_the_connector(pipeline, fake_dt):
    connector = add_connector(fake_dt, "ACTIVE", successes=1, errors=0)

    result = ops(pipeline, fake_dt, "sync", "--project", f"projects/{DT_PROJECT}",
                 "--connector", f"projects/{DT_PROJECT}/dataconnectors/{connector}", *FAST)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert fake_dt.project(DT_PROJECT).syncs == [connector]
    assert fake_dt.answered(f"/dataconnectors/{connector}:sync", 200)[0].method == "POST"


@pytest.mark.parametrize(("status", "message"), [("SYSTEM_DISABLED", "Enable it first"), (None, "404")])
def test_sync_fails_for_a_disabled_or_unknown_connector(pipeline, fake_dt, status, message):
    connector = add_connector(fake_dt, status, 0, 0) if status else "nosuchconnector"

    result = ops(pipeline, fake_dt, "sync", "--project", DT_PROJECT, "--connector", connector, *FAST)

    assert result.returncode == 1
    assert message in result.stderr
    assert fake_dt.project(DT_PROJECT).syncs == []


def test_enable_sets_a_system_disabled_connector_active_and_points_to_backfill(pipeline, fake_dt):
    connector = add_connector(fake_dt, "SYSTEM_DISABLED", 0, 0)

    result = ops(pipeline, fake_dt, "enable", "--project", DT_PROJECT, "--connector", connector, *FAST)

    assert result.returncode == 0, result.stderr
    assert fake_dt.project(DT_PROJECT).connectors[connector]["status"] == "ACTIVE"
    assert "was SYSTEM_DISABLED, now ACTIVE" in result.stdout
    assert f"dt-bigquery-ops backfill --project {DT_PROJECT} --since" in result.stdout
