"""`dt-bigquery-ops enable`: its options and what it runs."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from dt_bigquery_ops import options, output
from dt_bigquery_ops.commands import common
from dt_bigquery_ops.connectors import enable
from dt_bigquery_ops.errors import OK

NAME = "enable"
HELP = "set a disabled connector ACTIVE again"
DESCRIPTION = (
    "Set the connector's status to ACTIVE. DT forwards new events from then on; what it missed\n"
    "while disabled is never re-sent: backfill it (see docs/operations.md)."
)
USES_DT = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dt_options(parser)
    common.add_json_option(parser)
    common.add_connector_option(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    project = options.dt_project(args.project)
    result = enable(common.dt_api(args, env), project, options.dt_connector(args.connector, project))
    if args.json:
        output.print_json(result)
    elif result["enabledAt"] is None:
        print(f"connector {result['connector']} is already ACTIVE")
    else:
        until = result["enabledAt"].strftime("%Y-%m-%dT%H:%M:%SZ")
        print(
            f"connector {result['connector']} was {result['statusBefore']}, now {result['status']} "
            f"(at {until}).\nDT does not re-send what it missed: backfill the gap, e.g.\n"
            f"  dt-bigquery-ops backfill --project {project} --since <when it stopped> --until {until}"
        )
    return OK
