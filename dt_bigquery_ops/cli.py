"""The command line of `dt-bigquery-ops` (`./run ops`): one entry point, one subcommand per task.

Only the wiring: each subcommand is a module of dt_bigquery_ops/commands/ (or report/command.py)
with its options and its `run`; `main` maps every failure to one line and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

from dt_bigquery_ops.commands import backfill, common, enable, health, replay_dead_letters, sync
from dt_bigquery_ops.dt_api import DtApiError, MissingCredentials
from dt_bigquery_ops.errors import FAILED, USAGE, OpsError
from dt_bigquery_ops.report import command as report

COMMANDS: tuple[ModuleType, ...] = (backfill, health, sync, enable, replay_dead_letters, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dt-bigquery-ops",
        description="Operate the DT → BigQuery bridge. Runbooks: docs/operations.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=common.EXIT_CODES,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        uses_dt = getattr(command, "USES_DT", False)
        subcommand = commands.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=(common.DT_ENVIRONMENT + "\n" if uses_dt else "")
            + common.GOOGLE_ENVIRONMENT
            + "\n"
            + common.EXIT_CODES,
        )
        command.add_arguments(subcommand)
        subcommand.set_defaults(handler=command.run)
    return parser


def _fail(message: str, exit_code: int) -> int:
    """One line on stderr, never a traceback: an operator (or cron) reads the message and the code."""
    print("error: " + " ".join(message.split())[:500], file=sys.stderr)
    return exit_code


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """The console script `dt-bigquery-ops`: maps every failure to a one-line message and an exit code."""
    args = build_parser().parse_args(argv)
    env = os.environ if env is None else env
    try:
        return int(args.handler(args, env))
    except MissingCredentials as error:
        return _fail(str(error), USAGE)
    except OpsError as error:
        return _fail(str(error), error.exit_code)
    except DtApiError as error:
        return _fail(str(error), FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", FAILED)
    except Exception as error:  # the last resort: a library's own exception, e.g. no credentials
        return _fail(f"{type(error).__name__}: {error}", FAILED)
