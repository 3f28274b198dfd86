"""`dt-bigquery-ops backfill`: its options and what it runs."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Mapping
from pathlib import Path

from dt_bigquery_ops import options, output
from dt_bigquery_ops.commands import common
from dt_bigquery_ops.errors import FAILED, OK, UsageError

NAME = "backfill"
HELP = "publish events from DT's history, e.g. the gap left by a disabled connector"
DESCRIPTION = (
    "Page through each device's event history in DT and publish every event to the ingest topic,\n"
    "as the connector would have sent it (attribute source=backfill). Events that already arrived\n"
    "are harmless: the views show each event once. Resumable: rerun the same command after a\n"
    "failure or Ctrl-C and it continues from the last confirmed page."
)
USES_DT = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dt_options(parser)
    common.add_json_option(parser)
    parser.add_argument(
        "--since",
        required=True,
        metavar="TIME",
        help="start: 2025-03-11T08:00:00Z, 2025-03-11 (UTC), or 5d / 36h back from now",
    )
    parser.add_argument(
        "--until", metavar="TIME", help="end, excluded (same forms; default: now, fixed at the first run)"
    )
    parser.add_argument(
        "--types",
        action="append",
        metavar="TYPE[,TYPE]",
        help="only these event types (e.g. temperature,touch)",
    )
    parser.add_argument("--devices", action="append", metavar="ID[,ID]", help="only these device ids")
    parser.add_argument(
        "--labels",
        default="name,description",
        metavar="KEY[,KEY]",
        help="device label keys to put in each body, as the connector's `labels` "
        "setting does (default name,description)",
    )
    parser.add_argument("--topic", help="ingest topic projects/<p>/topics/<t> (default $PUBSUB_TOPIC)")
    parser.add_argument(
        "--dry-run", action="store_true", help="fetch and count only: publish nothing, keep no state"
    )
    parser.add_argument("--page-size", type=int, metavar="N", help="events per history page (default: DT's)")
    parser.add_argument(
        "--state-file",
        dest="state",
        metavar="FILE",
        help="state file (default $XDG_STATE_HOME/dt-bigquery/backfill/<project>-<hash>.json, "
        "$XDG_STATE_HOME being ~/.local/state when unset)",
    )
    parser.add_argument("--restart", action="store_true", help="ignore an unfinished state and start over")
    parser.add_argument(
        "--check-present",
        action="store_true",
        help="count the events BigQuery already has (informational; needs --dataset)",
    )
    parser.add_argument("--dataset", help="BigQuery <project>.<dataset> (default $BIGQUERY_DATASET)")
    output.add_progress_option(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    # Imported here, not at the top: the Google client libraries take a second to load, `--help` none.
    from dt_bigquery_ops.backfill import Backfill, BackfillRequest
    from dt_bigquery_ops.google_cloud import ConfirmingPublisher, bigquery_client, present_event_ids

    start, end = options.window(args.since, args.until)
    if args.page_size is not None and args.page_size < 1:
        raise UsageError("--page-size must be at least 1")
    request = BackfillRequest(
        project=options.dt_project(args.project),
        since=args.since,
        until=args.until,
        start=start,
        end=end,
        event_types=tuple(options.word_list(args.types)),
        device_ids=tuple(options.word_list(args.devices)),
        label_keys=tuple(options.word_list([args.labels])),
        topic=None if args.dry_run else options.topic(args.topic, env),
        dry_run=args.dry_run,
        page_size=args.page_size,
        state_path=Path(args.state) if args.state else None,
        restart=args.restart,
        dataset=options.dataset(args.dataset, env, required=args.check_present),
    )
    api = common.dt_api(args, env)
    present = None
    if args.check_present and request.dataset is not None:
        client = bigquery_client(request.dataset, env)
        present = functools.partial(present_event_ids, client, request.dataset)
    publisher = None if request.topic is None else ConfirmingPublisher(request.topic)
    backfill = Backfill(api, request, publisher, output.Progress(args.progress), present)
    try:
        complete = backfill.run()
    finally:
        if publisher is not None:
            publisher.close()
    if args.json:
        output.print_json(backfill.result())
    else:
        backfill.print_result()
    if not complete:
        where = f" (state: {backfill.state.path})" if backfill.state.path else ""
        print(
            f"error: backfill incomplete: {backfill.error}. Rerun the same command to continue{where}.",
            file=sys.stderr,
        )
        return FAILED
    return OK
