"""The operations tool's command line, in-process: usage errors and the help of every command."""

from __future__ import annotations

import pytest

from dt_bigquery_ops import cli
from tests.support.ops import (
    DT_PROJECT,
)


def test_missing_credentials_are_a_usage_error_naming_the_variables(capsys):
    code = cli.main(["sync", "--project", DT_PROJECT, "--connector", "c1"], env={"DT_API_KEY_ID": "k"})
    assert code == 2
    assert "DT_API_KEY_SECRET, DT_OIDC_EMAIL not set" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["backfill", "health", "sync", "enable", "replay-dead-letters"])
def test_each_command_documents_its_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as exit_status:
        cli.main([command, "--help"])
    assert exit_status.value.code == 0
    assert "exit codes:\n  0" in capsys.readouterr().out
