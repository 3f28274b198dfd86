"""The operator CLI as operators get it: a package with its own requirements and a console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from dt_bigquery_ops.backfill import state_directory
from local.reading import pull_and_ack
from tests.support.paths import OPS_CLI, ROOT
from tests.support.pubsub import create_topic_with_subscription

OPS_PYTHON = OPS_CLI.parent / "python"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPS_CLI), *args], env=os.environ | env, capture_output=True, text=True, timeout=60, cwd="/"
    )


def pins(path: Path) -> dict[str, str]:
    """{package: version} of a pinned requirements file."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", path.read_text(), flags=re.MULTILINE)
    return {name.lower(): version for name, version in found}


def test_the_console_script_is_installed_and_answers_help():
    assert OPS_CLI.exists(), "run ./run setup (or ./run ops) to install .venv-ops"
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: dt-bigquery-ops")
    for command in ("backfill", "health", "sync", "enable", "replay-dead-letters"):
        assert command in result.stdout


@pytest.mark.parametrize("module", ["functions_framework", "flask", "pytest", "hypothesis", "bqemulator"])
def test_the_ops_venv_holds_only_the_ops_requirements(module):
    result = subprocess.run([str(OPS_PYTHON), "-c", f"import {module}"], capture_output=True, text=True)
    assert result.returncode != 0, f"{module} should not be installed with the ops CLI"
    assert "ModuleNotFoundError" in result.stderr


def test_the_ops_requirements_pin_the_same_versions_as_the_functions():
    ops_pins, function_pins = (
        pins(ROOT / "dt_bigquery_ops" / "requirements.txt"),
        pins(ROOT / "requirements.txt"),
    )
    shared = ops_pins.keys() & function_pins.keys()
    assert {"google-cloud-pubsub", "google-cloud-bigquery", "pyjwt"} <= shared
    assert {name: ops_pins[name] for name in shared} == {name: function_pins[name] for name in shared}


def test_a_subcommand_runs_from_anywhere_against_the_emulator(publisher, subscriber, pubsub_host):
    """Outside the repository, only the installed package: a dry run lists a dead letter, leaves it."""
    topic, subscription = create_topic_with_subscription(publisher, subscriber, "ops-package-dead-letters")
    publisher.publish(topic, b"not an event", eventId="e1", deadLetterReason="not JSON").result(timeout=10)

    result = run_cli(
        "replay-dead-letters", "--subscription", subscription, "--dry-run", "--wait", "2", "--json",
        PUBSUB_EMULATOR_HOST=pubsub_host,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["dryRun"], report["found"], report["replayed"]) == (True, 1, 0)
    assert report["messages"][0]["deadLetterReason"] == "not JSON"
    assert len(pull_and_ack(subscriber, subscription, 1)) == 1, "a dry run leaves the dead letter in place"


def test_an_unexpected_library_error_is_one_line_and_exit_code_1(tmp_path):
    """No Pub/Sub emulator and no Google credentials: a message, never a traceback."""
    result = run_cli(
        "replay-dead-letters", "--subscription", "projects/my-project/subscriptions/dead-letters", "--dry-run", "--wait", "1",
        PUBSUB_EMULATOR_HOST="", GOOGLE_APPLICATION_CREDENTIALS=str(tmp_path / "missing.json"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_backfill_state_lives_in_the_xdg_state_directory_not_the_repository(tmp_path):
    assert state_directory({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "dt-bigquery" / "backfill"
    assert state_directory({}) == Path.home() / ".local" / "state" / "dt-bigquery" / "backfill"
    assert ROOT not in state_directory({}).parents


def test_the_package_installs_one_top_level_name_and_ships_the_deployed_modules_inside_it():
    """No generic top-level `functions` or `ops` in an operator's environment (PyPI's `ops` is
    Canonical's charm library): the deployed modules load from inside dt_bigquery_ops."""
    probe = (
        "import importlib.util, json, dt_bigquery_ops.deployed as d;"
        "print(json.dumps([d.envelope.__name__, *(bool(importlib.util.find_spec(n)) for n in ('functions', 'ops'))]))"
    )
    result = subprocess.run(
        [str(OPS_PYTHON), "-c", probe], capture_output=True, text=True, cwd="/", check=True
    )
    assert json.loads(result.stdout) == ["dt_bigquery_ops._functions.envelope", False, False]
