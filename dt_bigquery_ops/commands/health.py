"""`dt-bigquery-ops health`: its options and what it runs."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Mapping

from dt_bigquery_ops import options, output
from dt_bigquery_ops.commands import common
from dt_bigquery_ops.connectors import HealthRequest, check_health, print_health_result
from dt_bigquery_ops.errors import OK, UNHEALTHY, UsageError

NAME = "health"
HELP = "connector status, delivery metrics and the newest rows in BigQuery; exit 3 when unhealthy"
DESCRIPTION = (
    "Report each Data Connector's status (ACTIVE, USER_DISABLED, SYSTEM_DISABLED), DT's delivery\n"
    "metrics over the last 3 hours (successes, errors, p99 latency) and, with a dataset, the newest\n"
    "event per type in BigQuery. Exits 3 when a connector is disabled, its error rate is above\n"
    "--max-error-rate, or (with --max-age) the newest event is too old: fit for cron or CI."
)
USES_DT = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dt_options(parser)
    common.add_json_option(parser)
    parser.add_argument("--connector", help="one connector id (default: every connector of the project)")
    parser.add_argument(
        "--max-error-rate",
        type=float,
        default=0.05,
        metavar="FRACTION",
        help="unhealthy above this share of failed deliveries (default 0.05)",
    )
    parser.add_argument("--dataset", help="BigQuery <project>.<dataset> (default $BIGQUERY_DATASET)")
    parser.add_argument("--no-bigquery", action="store_true", help="skip the BigQuery check")
    parser.add_argument(
        "--lookback", default="7d", metavar="DURATION", help="how far back to look for rows (default 7d)"
    )
    parser.add_argument(
        "--max-age", metavar="DURATION", help="unhealthy when the newest event is older (e.g. 2h)"
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    project = options.dt_project(args.project)
    dataset = None if args.no_bigquery else options.dataset(args.dataset, env, required=False)
    if not 0 <= args.max_error_rate <= 1:
        raise UsageError("--max-error-rate is a fraction between 0 and 1, e.g. 0.05")
    request = HealthRequest(
        project=project,
        connector=options.dt_connector(args.connector, project) if args.connector else None,
        max_error_rate=args.max_error_rate,
        dataset=dataset,
        lookback=options.duration(args.lookback),
        max_age=options.duration(args.max_age) if args.max_age else None,
    )
    newest = None
    if dataset is not None:
        from dt_bigquery_ops.google_cloud import (  # slow to import: only when used
            bigquery_client,
            newest_rows,
        )

        newest = functools.partial(newest_rows, bigquery_client(dataset, env), dataset)
    result = check_health(common.dt_api(args, env), request, newest)
    if args.json:
        output.print_json(result)
    else:
        print_health_result(result)
    return OK if result["healthy"] else UNHEALTHY
