"""The command line of `dt-bigquery-ops` (`./run ops`): one entry point, one subcommand per task."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from dt_bigquery_ops import options, output
from dt_bigquery_ops.dt_api import DtApi, DtApiError, MissingCredentials, RetryPolicy
from dt_bigquery_ops.errors import FAILED, OK, UNHEALTHY, USAGE, OpsError, UsageError
from dt_bigquery_ops.report import command as report_command

EXIT_CODES = """\
exit codes:
  0  done (health: healthy)
  1  failed or incomplete (DT API, Pub/Sub or BigQuery error, interrupted); a backfill rerun continues
  2  usage error (bad option, missing setting or credentials)
  3  unhealthy (health only: connector disabled, error rate or data age above the threshold)
"""

DT_ENVIRONMENT = """\
DT service account (as for DT's Terraform provider):
  DT_API_KEY_ID, DT_API_KEY_SECRET, DT_OIDC_EMAIL   the key and the service account's email
  DT_API_URL              API base URL (default https://api.disruptive-technologies.com)
  DT_OIDC_TOKEN_ENDPOINT  token endpoint (default https://identity.disruptive-technologies.com/oauth2/token)
"""

GOOGLE_ENVIRONMENT = """\
Google Cloud: PUBSUB_TOPIC (for --topic), BIGQUERY_DATASET (for --dataset), PUBSUB_EMULATOR_HOST and
BIGQUERY_API_ENDPOINT (emulators); otherwise Application Default Credentials.
"""


def _add_subcommand(
    commands: Any, name: str, help_text: str, description: str, parents: list[argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    uses_dt = any(parent is _DT_OPTIONS for parent in parents)
    return commands.add_parser(
        name,
        help=help_text,
        description=description,
        parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(DT_ENVIRONMENT + "\n" if uses_dt else "") + GOOGLE_ENVIRONMENT + "\n" + EXIT_CODES,
    )


_DT_OPTIONS = argparse.ArgumentParser(add_help=False)
_dt = _DT_OPTIONS.add_argument_group("DT API")
_dt.add_argument("--project", required=True, help="DT project id (or projects/<id>)")
_dt.add_argument(
    "--rate", type=float, default=10.0, metavar="N", help="at most N DT API requests a second (default 10)"
)
_dt.add_argument(
    "--max-retries",
    type=int,
    default=5,
    metavar="N",
    help="retries of a DT request answered 429 or 5xx, or lost (default 5)",
)
_dt.add_argument(
    "--backoff",
    type=float,
    default=1.0,
    metavar="SECONDS",
    help="first wait before a retry, doubled each time up to 60 s; a Retry-After "
    "header is obeyed instead (default 1)",
)
_dt.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="per DT request (default 30)")

_JSON_OPTION = argparse.ArgumentParser(add_help=False)
_JSON_OPTION.add_argument("--json", action="store_true", help="print a JSON document instead of tables")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dt-bigquery-ops",
        description="Operate the DT → BigQuery bridge. Runbooks: docs/operations.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    backfill = _add_subcommand(
        commands,
        "backfill",
        "publish events from DT's history, e.g. the gap left by a disabled connector",
        "Page through each device's event history in DT and publish every event to the ingest topic,\n"
        "as the connector would have sent it (attribute source=backfill). Events that already arrived\n"
        "are harmless: the views show each event once. Resumable: rerun the same command after a\n"
        "failure or Ctrl-C and it continues from the last confirmed page.",
        [_DT_OPTIONS, _JSON_OPTION],
    )
    backfill.add_argument(
        "--since",
        required=True,
        metavar="TIME",
        help="start: 2025-03-11T08:00:00Z, 2025-03-11 (UTC), or 5d / 36h back from now",
    )
    backfill.add_argument(
        "--until", metavar="TIME", help="end, excluded (same forms; default: now, fixed at the first run)"
    )
    backfill.add_argument(
        "--types",
        action="append",
        metavar="TYPE[,TYPE]",
        help="only these event types (e.g. temperature,touch)",
    )
    backfill.add_argument("--devices", action="append", metavar="ID[,ID]", help="only these device ids")
    backfill.add_argument(
        "--labels",
        default="name,description",
        metavar="KEY[,KEY]",
        help="device label keys to put in each body, as the connector's `labels` "
        "setting does (default name,description)",
    )
    backfill.add_argument("--topic", help="ingest topic projects/<p>/topics/<t> (default $PUBSUB_TOPIC)")
    backfill.add_argument(
        "--dry-run", action="store_true", help="fetch and count only: publish nothing, keep no state"
    )
    backfill.add_argument(
        "--page-size", type=int, metavar="N", help="events per history page (default: DT's)"
    )
    backfill.add_argument(
        "--state-file",
        dest="state",
        metavar="FILE",
        help="state file (default $XDG_STATE_HOME/dt-bigquery/backfill/<project>-<hash>.json, "
        "$XDG_STATE_HOME being ~/.local/state when unset)",
    )
    backfill.add_argument("--restart", action="store_true", help="ignore an unfinished state and start over")
    backfill.add_argument(
        "--check-present",
        action="store_true",
        help="count the events BigQuery already has (informational; needs --dataset)",
    )
    backfill.add_argument("--dataset", help="BigQuery <project>.<dataset> (default $BIGQUERY_DATASET)")
    output.add_progress_option(backfill)
    backfill.set_defaults(handler=run_backfill)

    health = _add_subcommand(
        commands,
        "health",
        "connector status, delivery metrics and the newest rows in BigQuery; exit 3 when unhealthy",
        "Report each Data Connector's status (ACTIVE, USER_DISABLED, SYSTEM_DISABLED), DT's delivery\n"
        "metrics over the last 3 hours (successes, errors, p99 latency) and, with a dataset, the newest\n"
        "event per type in BigQuery. Exits 3 when a connector is disabled, its error rate is above\n"
        "--max-error-rate, or (with --max-age) the newest event is too old: fit for cron or CI.",
        [_DT_OPTIONS, _JSON_OPTION],
    )
    health.add_argument("--connector", help="one connector id (default: every connector of the project)")
    health.add_argument(
        "--max-error-rate",
        type=float,
        default=0.05,
        metavar="FRACTION",
        help="unhealthy above this share of failed deliveries (default 0.05)",
    )
    health.add_argument("--dataset", help="BigQuery <project>.<dataset> (default $BIGQUERY_DATASET)")
    health.add_argument("--no-bigquery", action="store_true", help="skip the BigQuery check")
    health.add_argument(
        "--lookback", default="7d", metavar="DURATION", help="how far back to look for rows (default 7d)"
    )
    health.add_argument(
        "--max-age", metavar="DURATION", help="unhealthy when the newest event is older (e.g. 2h)"
    )
    health.set_defaults(handler=run_health)

    sync = _add_subcommand(
        commands,
        "sync",
        "ask DT to push the latest event of each type for every device",
        "Ask DT to push, through the connector, the latest event of each type of every device of the\n"
        "project (DT's :sync), e.g. right after a deploy so that every table has rows at once.",
        [_DT_OPTIONS, _JSON_OPTION],
    )
    sync.add_argument("--connector", required=True, help="connector id (or projects/<p>/dataconnectors/<id>)")
    sync.set_defaults(handler=run_sync)

    enable = _add_subcommand(
        commands,
        "enable",
        "set a disabled connector ACTIVE again",
        "Set the connector's status to ACTIVE. DT forwards new events from then on; what it missed\n"
        "while disabled is never re-sent: backfill it (see docs/operations.md).",
        [_DT_OPTIONS, _JSON_OPTION],
    )
    enable.add_argument(
        "--connector", required=True, help="connector id (or projects/<p>/dataconnectors/<id>)"
    )
    enable.set_defaults(handler=run_enable)

    replay = _add_subcommand(
        commands,
        "replay-dead-letters",
        "republish dead letters to the ingest topic after a fix",
        "Pull messages from the dead-letter subscription and republish each, data unchanged, to the\n"
        "ingest topic with its original attributes and source=replay; each is acknowledged only once\n"
        "Pub/Sub confirmed its republication. --dry-run lists them with their reason and leaves them.",
        [_JSON_OPTION],
    )
    replay.add_argument(
        "--subscription",
        help="dead-letter subscription projects/<p>/subscriptions/<s> (default $DEAD_LETTER_SUBSCRIPTION)",
    )
    replay.add_argument("--topic", help="ingest topic projects/<p>/topics/<t> (default $PUBSUB_TOPIC)")
    replay.add_argument("--max", type=int, metavar="N", help="at most N messages (default: all)")
    replay.add_argument("--dry-run", action="store_true", help="list the dead letters and their reasons only")
    replay.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="stop when no dead letter arrives within this time (default 5)",
    )
    replay.set_defaults(handler=run_replay)

    report = _add_subcommand(commands, "report", report_command.HELP, report_command.DESCRIPTION, [])
    report_command.add_arguments(report)
    report.set_defaults(handler=report_command.run)
    return parser


def dt_api(args: argparse.Namespace, env: Mapping[str, str]) -> DtApi:
    if args.rate <= 0 or args.max_retries < 0 or args.backoff < 0 or args.timeout <= 0:
        raise UsageError("--rate and --timeout must be positive, --max-retries and --backoff not negative")
    return DtApi.from_env(
        env,
        requests_per_second=args.rate,
        retry=RetryPolicy(max_retries=args.max_retries, initial_backoff=args.backoff),
        timeout_seconds=args.timeout,
    )


# Commands --------------------------------------------------------------------------------
def run_backfill(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from pathlib import Path

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
    api = dt_api(args, env)
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
        output.print_json(backfill.summary())
    else:
        backfill.print_summary()
    if not complete:
        where = f" (state: {backfill.state.path})" if backfill.state.path else ""
        print(
            f"error: backfill incomplete: {backfill.error}. Rerun the same command to continue{where}.",
            file=sys.stderr,
        )
        return FAILED
    return OK


def run_health(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from dt_bigquery_ops.connectors import HealthRequest, check_health, print_health

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
        from dt_bigquery_ops.google_cloud import bigquery_client, newest_rows

        newest = functools.partial(newest_rows, bigquery_client(dataset, env), dataset)
    report = check_health(dt_api(args, env), request, newest)
    if args.json:
        output.print_json(report)
    else:
        print_health(report)
    return OK if report["healthy"] else UNHEALTHY


def run_sync(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from dt_bigquery_ops.connectors import sync

    project = options.dt_project(args.project)
    result = sync(dt_api(args, env), project, options.dt_connector(args.connector, project))
    if args.json:
        output.print_json(result)
    else:
        print(
            f"DT will push the latest event of each type of every device in {project} through connector "
            f"{result['connector']}; they arrive within minutes."
        )
    return OK


def run_enable(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from dt_bigquery_ops.connectors import enable

    project = options.dt_project(args.project)
    result = enable(dt_api(args, env), project, options.dt_connector(args.connector, project))
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


def run_replay(args: argparse.Namespace, env: Mapping[str, str]) -> int:
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
        output.print_json(replay.report())
    else:
        replay.print_report()
    return OK


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
