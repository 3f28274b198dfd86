"""`dt-bigquery-ops replay-dead-letters`: its options and what it runs."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from dt_bigquery_ops import options, output
from dt_bigquery_ops.commands import common
from dt_bigquery_ops.errors import OK, UsageError

NAME = "replay-dead-letters"
HELP = "republish dead letters to the ingest topic after a fix"
DESCRIPTION = (
    "Pull messages from the dead-letter subscription and republish each, data unchanged, to the\n"
    "ingest topic with its original attributes and source=replay; each is acknowledged only once\n"
    "Pub/Sub confirmed its republication. --dry-run lists them with their reason and leaves them."
)
USES_DT = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_json_option(parser)
    parser.add_argument(
        "--subscription",
        help="dead-letter subscription projects/<p>/subscriptions/<s> (default $DEAD_LETTER_SUBSCRIPTION)",
    )
    parser.add_argument("--topic", help="ingest topic projects/<p>/topics/<t> (default $PUBSUB_TOPIC)")
    parser.add_argument("--max", type=int, metavar="N", help="at most N messages (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="list the dead letters and their reasons only")
    parser.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="stop when no dead letter arrives within this time (default 5)",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    # Imported here, not at the top: the Google client libraries take a second to load, `--help` none.
    from google.cloud import pubsub_v1

    from dt_bigquery_ops.dead_letters import Replay
    from dt_bigquery_ops.google_cloud import ConfirmingPublisher

    subscription = options.subscription(args.subscription, env)
    if args.max is not None and args.max < 1:
        raise UsageError("--max must be at least 1")
    if args.wait <= 0:
        raise UsageError("--wait must be positive")
    publisher = None if args.dry_run else ConfirmingPublisher(options.topic(args.topic, env))
    subscriber = pubsub_v1.SubscriberClient()
    replay = Replay(subscriber, subscription, publisher, args.max, args.wait)
    try:
        replay.run()
    finally:
        subscriber.close()
        if publisher is not None:
            publisher.close()
    if args.json:
        output.print_json(replay.result())
    else:
        replay.print_result()
    return OK
