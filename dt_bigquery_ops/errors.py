"""The exceptions of the operations tool; `dt_bigquery_ops.cli.main` maps each to an exit code."""

from __future__ import annotations

OK = 0
FAILED = 1
USAGE = 2
UNHEALTHY = 3


class OpsError(Exception):
    """A command could not do all of its work (exit code 1); the message says what to do."""

    exit_code = FAILED


class UsageError(OpsError):
    """A missing or malformed option or setting (exit code 2, like argparse's own errors)."""

    exit_code = USAGE
