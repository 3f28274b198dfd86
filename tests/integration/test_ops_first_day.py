"""`dt-bigquery-ops` on a first day: the connector names DT and Terraform print, `health` per DT
project and refusing `--max-age` without a dataset, and the cron recipe of docs/operations.md run
as cron runs it. As in test_ops.py: the installed console script, a loopback DT API, the emulators."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from functions import timestamps
from local.dt_signing import headers_for, new_xid
from tests.support.bigquery import wait_for_rows
from tests.support.dt import SECRET, example_body
from tests.support.fake_dt_api import FakeDtApi
from tests.support.paths import OPS_CLI, ROOT

OPERATIONS = ROOT / "docs" / "operations.md"
# The DT project the docs' examples use: the cron lines are run exactly as written.
DT_PROJECT = "c0md3mm0c7pet3vico8g"
FAST = ["--rate", "200", "--backoff", "0.01"]


@pytest.fixture
def fake_dt() -> Iterator[FakeDtApi]:
    fake = FakeDtApi().start()
    yield fake
    fake.stop()


def dataset(pipeline) -> str:
    return f"{pipeline.settings.project}.{pipeline.settings.dataset}"


def ops(pipeline, fake: FakeDtApi, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | fake.env() | {
        "BIGQUERY_DATASET": dataset(pipeline),
        "BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint,
    } | env  # fmt: skip
    return subprocess.run(
        [str(OPS_CLI), *args], env=environment, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def add_connector(fake: FakeDtApi, project: str = DT_PROJECT) -> str:
    """An ACTIVE HTTP_PUSH connector, named as DT's API returns it (`dataConnectors`)."""
    connector_id = new_xid()
    fake.project(project).connectors[connector_id] = {
        "name": f"projects/{project}/dataConnectors/{connector_id}",
        "displayName": "BigQuery (dt-bq)",
        "type": "HTTP_PUSH",
        "status": "ACTIVE",
        "events": [],
        "labels": ["name", "description"],
        "httpConfig": {"url": "https://europe-west1-p.cloudfunctions.net/dt-bq-ingest", "headers": {}},
    }
    fake.project(project).metrics[connector_id] = {"successCount": 10, "errorCount": 0, "latency99p": "0.2s"}
    return connector_id


def send_live_event(pipeline, project: str) -> None:
    """A temperature event of `project`, a minute old, through the ingest function into the views."""
    body = json.loads(example_body("temperature"))
    event_id = new_xid()
    body["event"].update(
        eventId=event_id,
        targetName=f"projects/{project}/devices/{new_xid()}",
        timestamp=timestamps.to_rfc3339(datetime.now(UTC) - timedelta(minutes=1)),
    )
    data = json.dumps(body).encode()
    answer = requests.post(
        pipeline.ingest_url, data=data, headers=headers_for(data, secret=SECRET), timeout=30
    )
    assert answer.status_code // 100 == 2, answer.text
    wait_for_rows(pipeline, f"SELECT event_id FROM {{dataset}}.events WHERE event_id = '{event_id}'", 1)


# Connector names --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "form",
    [
        "{id}",  # the bare id
        "projects/{project}/dataConnectors/{id}",  # DT's API and Terraform's connector_names
        "projects/{project}/dataconnectors/{id}",  # DT Studio's URLs
    ],
)
def test_health_takes_the_connector_as_dt_and_terraform_print_it(pipeline, fake_dt, form):
    connector = add_connector(fake_dt)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--no-bigquery", "--json",
                 "--connector", form.format(project=DT_PROJECT, id=connector), *FAST)  # fmt: skip

    assert result.returncode == 0, result.stderr
    [checked] = json.loads(result.stdout)["connectors"]
    assert checked["id"] == connector


def test_a_connector_of_another_dt_project_is_a_usage_error(pipeline, fake_dt):
    connector = add_connector(fake_dt)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--no-bigquery",
                 "--connector", f"projects/{new_xid()}/dataConnectors/{connector}", *FAST)  # fmt: skip

    assert result.returncode == 2
    assert f"is not in the project {DT_PROJECT}" in result.stderr


# --max-age and the dataset -----------------------------------------------------------------
@pytest.mark.parametrize("without_dataset", [["--no-bigquery"], []])
def test_max_age_without_a_dataset_is_refused_not_reported_healthy(pipeline, fake_dt, without_dataset):
    add_connector(fake_dt)

    result = ops(pipeline, fake_dt, "health", "--project", DT_PROJECT, "--max-age", "2h", *without_dataset,
                 *FAST, BIGQUERY_DATASET="")  # fmt: skip

    assert result.returncode == 2, result.stdout
    assert "--max-age needs the BigQuery dataset" in result.stderr and "BIGQUERY_DATASET" in result.stderr
    assert "HEALTHY" not in result.stdout


def test_health_reads_the_freshness_of_its_own_dt_project_only(pipeline, fake_dt):
    """Another DT project's fresh events can't hide this project's silence."""
    project, other = new_xid(), new_xid()  # no event yet in the session's dataset
    add_connector(fake_dt, project)
    send_live_event(pipeline, other)

    silent = ops(pipeline, fake_dt, "health", "--project", project, "--max-age", "1h",
                 "--lookback", "1d", "--json", *FAST)  # fmt: skip

    assert silent.returncode == 3, silent.stdout + silent.stderr
    report = json.loads(silent.stdout)
    assert report["newestRows"] == []
    assert f"DT project {project}: no event" in report["problems"][0]

    send_live_event(pipeline, project)
    fresh = ops(pipeline, fake_dt, "health", "--project", project, "--max-age", "1h",
                "--lookback", "1d", "--json", *FAST)  # fmt: skip

    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert [row["eventType"] for row in json.loads(fresh.stdout)["newestRows"]] == ["temperature"]


# The cron recipe ---------------------------------------------------------------------------
def code_blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(), re.M | re.S)


def documented_environment_file() -> tuple[str, str]:
    """(path under $HOME, text) of the settings file the cron recipe sources."""
    [block] = [block for block in code_blocks(OPERATIONS, "sh") if block.startswith("# ~/.config/")]
    path = block.split(":", 1)[0].removeprefix("# ~/")
    return path, block


def cron_commands() -> list[str]:
    """The commands of the docs' crontab lines (after the five schedule fields)."""
    [block] = code_blocks(OPERATIONS, "cron")
    return [line.split(None, 5)[5] for line in block.splitlines() if re.match(r"^[*\d/,-]+\s", line)]


def run_as_cron(command: str, home: Path) -> subprocess.CompletedProcess[str]:
    """As cron runs a line: /bin/sh -c, HOME and a bare PATH, nothing else."""
    return subprocess.run(
        ["/bin/sh", "-c", command],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def cron_home(pipeline, fake_dt, tmp_path) -> Path:
    """A home as the docs set it up: the tool in ~/.venvs/dt-ops, the settings file filled in."""
    tool = tmp_path / ".venvs" / "dt-ops" / "bin"
    tool.mkdir(parents=True)
    (tool / "dt-bigquery-ops").symlink_to(OPS_CLI)
    path, text = documented_environment_file()
    values = fake_dt.env() | {"BIGQUERY_DATASET": dataset(pipeline)}
    exported = re.findall(r"^export (\w+)=", text, re.M)
    assert {"DT_API_KEY_ID", "DT_API_KEY_SECRET", "DT_OIDC_EMAIL", "BIGQUERY_DATASET"} <= set(exported)
    filled = re.sub(r"^export (\w+)=.*$", lambda m: f"export {m[1]}={values[m[1]]}", text, flags=re.M)
    # Only where the test's DT and BigQuery are (the fake and the emulator), not the docs' defaults.
    filled += "".join(
        f"export {name}={value}\n"
        for name, value in {
            "DT_API_URL": fake_dt.api_url,
            "DT_OIDC_TOKEN_ENDPOINT": fake_dt.token_endpoint,
            "BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint,
        }.items()
    )
    settings = tmp_path / path
    settings.parent.mkdir(parents=True)
    settings.write_text(filled)
    settings.chmod(0o600)
    return tmp_path


def test_the_cron_lines_of_the_docs_print_nothing_while_healthy_and_the_problem_when_not(
    pipeline, fake_dt, cron_home
):
    # As written, but for a DT project of this test alone (the session's dataset is shared).
    project = new_xid()
    commands = [command.replace(DT_PROJECT, project) for command in cron_commands()]
    assert commands and all(f"--project {project}" in command for command in commands)
    add_connector(fake_dt, project)

    for command in commands:
        silent = run_as_cron(command, cron_home)  # no event of the project yet
        assert "UNHEALTHY" in silent.stdout and f"DT project {project}: no event" in silent.stdout

    send_live_event(pipeline, project)
    for command in commands:
        healthy = run_as_cron(command, cron_home)
        assert healthy.returncode == 0 and healthy.stdout == "" and healthy.stderr == "", healthy
