"""`dt-bigquery-ops sync`: its options and what it runs."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from dt_bigquery_ops import options, output
from dt_bigquery_ops.commands import common
from dt_bigquery_ops.connectors import sync
from dt_bigquery_ops.errors import OK

NAME = "sync"
HELP = "ask DT to push the latest event of each type for every device"
DESCRIPTION = (
    "Ask DT to push, through the connector, the latest event of each type of every device of the\n"
    "project (DT's :sync), e.g. right after a deploy so that every table has rows at once."
)
USES_DT = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dt_options(parser)
    common.add_json_option(parser)
    common.add_connector_option(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    project = options.dt_project(args.project)
    result = sync(common.dt_api(args, env), project, options.dt_connector(args.connector, project))
    if args.json:
        output.print_json(result)
    else:
        print(
            f"DT will push the latest event of each type of every device in {project} through connector "
            f"{result['connector']}; they arrive within minutes."
        )
    return OK
