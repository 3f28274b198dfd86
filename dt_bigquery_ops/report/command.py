"""`./run ops report` (and `./run report`): its options, and wiring BigQuery, Pub/Sub and DT to it."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dt_bigquery_ops import options, output
from dt_bigquery_ops.errors import OK, UsageError

NAME = "report"
HELP = "write a chart report (one offline HTML file) from the dataset's views"
DESCRIPTION = (
    "Query the dataset's views over a window and write one self-contained HTML file (charts as\n"
    "inline SVG, readable with no network): readings per device, events per type per hour, the\n"
    "devices silent the longest, the dead-letter backlog (with a subscription) and connector\n"
    "health (with DT credentials and --dt-project). Needs dt_bigquery_ops/requirements-report.txt, which\n"
    "`./run report` installs. Against the local emulator: BIGQUERY_API_ENDPOINT (and\n"
    "PUBSUB_EMULATOR_HOST), as `./run serve` prints them."
)
DEAD_LETTER_WAIT_SECONDS = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", help="BigQuery <project>.<dataset> (default $BIGQUERY_DATASET)")
    parser.add_argument(
        "--since", default="7d", metavar="TIME", help="window start (default 7d back from now)"
    )
    parser.add_argument("--until", metavar="TIME", help="window end, excluded (default now)")
    parser.add_argument(
        "--output", metavar="FILE", help="where to write it (default .cache/report/<project>.<dataset>.html)"
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=8,
        metavar="N",
        help="devices per readings chart, the busiest (default 8)",
    )
    parser.add_argument(
        "--dead-letter-subscription",
        metavar="SUBSCRIPTION",
        help="chart its backlog: projects/<p>/subscriptions/<s> (default $DEAD_LETTER_SUBSCRIPTION)",
    )
    parser.add_argument(
        "--dt-project", metavar="ID", help="DT project whose connectors' health to chart (needs DT_API_KEY_*)"
    )
    output.add_progress_option(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from google.auth import exceptions as auth_exceptions

    from dt_bigquery_ops.google_cloud import bigquery_client
    from dt_bigquery_ops.report.build import ReportRequest, StepProgress, build_report
    from dt_bigquery_ops.report.charts import require_libraries
    from dt_bigquery_ops.report.queries import DatasetReader

    require_libraries()

    dataset = options.dataset(args.dataset, env, required=True)
    assert dataset is not None
    start, end = options.window(args.since, args.until)
    if args.devices < 1:
        raise UsageError("--devices must be at least 1")
    subscription = None
    if args.dead_letter_subscription or env.get("DEAD_LETTER_SUBSCRIPTION", "").strip():
        subscription = options.subscription(args.dead_letter_subscription, env)
    request = ReportRequest(
        dataset=dataset,
        start=start,
        end=end,
        output=Path(args.output or Path(".cache", "report", f"{dataset}.html")),
        max_devices=args.devices,
        dead_letter_subscription=subscription,
        dt_project=options.dt_project(args.dt_project) if args.dt_project else None,
    )
    endpoint = env.get("BIGQUERY_API_ENDPOINT", "").strip()
    step = StepProgress(output.Progress(args.progress))
    where = f"the emulator {endpoint}" if endpoint else "BigQuery"
    try:
        client = bigquery_client(dataset, env)
    except auth_exceptions.DefaultCredentialsError:
        raise UsageError(
            "no Google credentials: run `gcloud auth application-default login` (or set "
            "BIGQUERY_API_ENDPOINT for the local emulator)"
        ) from None
    reader = DatasetReader(client, dataset, where, step)
    path = build_report(
        request,
        reader,
        step,
        dead_letters=None if subscription is None else lambda: _dead_letters(subscription),
        connector_health=_connector_health(request.dt_project, env),
    )
    print(path.resolve())
    return OK


def _dead_letters(subscription: str) -> list[dict[str, Any]]:
    """The backlog as `replay-dead-letters --dry-run` sees it: listed, then released untouched."""
    from google.cloud import pubsub_v1

    from dt_bigquery_ops.dead_letters import Replay

    subscriber = pubsub_v1.SubscriberClient()
    try:
        replay = Replay(subscriber, subscription, None, wait_seconds=DEAD_LETTER_WAIT_SECONDS)
        replay.run()
        return replay.result()["messages"]
    finally:
        subscriber.close()


def _connector_health(project: str | None, env: Mapping[str, str]) -> Any:
    """A callable for the connectors' health, or None when DT is not configured."""
    if project is None:
        return None
    from dt_bigquery_ops.connectors import HealthRequest, check_health
    from dt_bigquery_ops.dt_api import DtApi

    api = DtApi.from_env(env)  # MissingCredentials names what to set
    return lambda: check_health(api, HealthRequest(project=project), None)["connectors"]
