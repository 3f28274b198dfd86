"""What several subcommands share: the DT API options and client, the --json option, the epilogs."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from dt_bigquery_ops.dt_api import DtApi, RetryPolicy
from dt_bigquery_ops.errors import UsageError

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


def add_dt_options(parser: argparse.ArgumentParser) -> None:
    """The DT project and how the DT API is called (rate, retries, backoff, timeout)."""
    dt = parser.add_argument_group("DT API")
    dt.add_argument("--project", required=True, help="DT project id (or projects/<id>)")
    dt.add_argument(
        "--rate",
        type=float,
        default=10.0,
        metavar="N",
        help="at most N DT API requests a second (default 10)",
    )
    dt.add_argument(
        "--max-retries",
        type=int,
        default=5,
        metavar="N",
        help="retries of a DT request answered 429 or 5xx, or lost (default 5)",
    )
    dt.add_argument(
        "--backoff",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="first wait before a retry, doubled each time up to 60 s; a Retry-After "
        "header is obeyed instead (default 1)",
    )
    dt.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="per DT request (default 30)"
    )


def dt_api(args: argparse.Namespace, env: Mapping[str, str]) -> DtApi:
    """The DT API client the options of `add_dt_options` describe."""
    if args.rate <= 0 or args.max_retries < 0 or args.backoff < 0 or args.timeout <= 0:
        raise UsageError("--rate and --timeout must be positive, --max-retries and --backoff not negative")
    return DtApi.from_env(
        env,
        requests_per_second=args.rate,
        retry=RetryPolicy(max_retries=args.max_retries, initial_backoff=args.backoff),
        timeout_seconds=args.timeout,
    )


def add_connector_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connector", required=True, help="connector id (or projects/<p>/dataconnectors/<id>)"
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of tables")
