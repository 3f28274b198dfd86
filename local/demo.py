"""The README's first command: the whole pipeline on this machine, with a simulated DT fleet.

    ./run demo    start everything, send a fleet's events, show what landed in BigQuery, stop

The demo feeds both ways in: one DT project's fleet through the ingest function (HTTP_PUSH,
signed), and a second DT project's published straight to the topic, as DT's Pub/Sub connector
(GOOGLE_CLOUD_PUBSUB) would, without attributes. It publishes the HTTP_PUSH body, which carries
the device labels the example queries show; `./run fleet --via pubsub` alternates it with the bare
event (tests/integration/test_pubsub_connector.py checks both).
    ./run serve   start everything and keep it running (Ctrl-C stops it)

Both take --router function|bigquery_subscription (default $ROUTER, else function): the route
function, or no function at all and a BigQuery subscription with the JavaScript transform (played
locally by local/bigquery_subscription.py). The demo runs the other router too, on a subscription of
its own to the same topic, into the dataset `<dataset>_<other router>`, and shows that both land the
same rows in events_log.

Every port and name has a default and an environment variable (see README, "Configuration").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from dt_bigquery_ops.output import format_table
from functions import catalogue
from local.dt_signing import AsymmetricSigner
from local.fleet import Report, run_fleet
from local.pipeline import PER_DELIVERY, ROUTERS, Pipeline, PipelineSettings

LOCAL_ORGANIZATION_ID = "local-organization"


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so `with Pipeline` stops everything it started."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


ROUTER_NAMES = {
    "function": "the route function",
    "bigquery_subscription": "the BigQuery subscription's stand-in (JavaScript transform)",
}


def settings_from(args: argparse.Namespace, signer: AsymmetricSigner, **settings: Any) -> PipelineSettings:
    overrides = {
        f.name: getattr(args, f.name)
        for f in fields(PipelineSettings)
        if getattr(args, f.name, None) is not None
    }
    return PipelineSettings(**overrides | settings, organization_id=LOCAL_ORGANIZATION_ID, jwks=signer.jwks())


def landed_counts(pipeline: Pipeline, dataset: str | None = None) -> dict[str, int]:
    sql = "SELECT event_type, COUNT(*) AS n FROM {dataset}.events GROUP BY event_type"
    return {row["event_type"]: row["n"] for row in pipeline.query(sql, dataset)}


def wait_until_landed(
    pipeline: Pipeline, expected: int, timeout: float = 300, dataset: str | None = None
) -> dict[str, int]:
    """Poll BigQuery until every accepted event is visible in `dataset` (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = landed_counts(pipeline, dataset)
        if sum(counts.values()) >= expected or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def print_summary(pipeline: Pipeline, report: Report, landed: dict[str, int]) -> None:
    rows = []
    for event_type in sorted(set(report.sent) | set(landed)):
        rows.append(
            [event_type, report.sent[event_type], report.accepted[event_type], landed.get(event_type, 0)]
        )
    total = ["total", sum(report.sent.values()), sum(report.accepted.values()), sum(landed.values())]
    print("\nEvents per type (landed = rows in the deduplicated views):\n")
    print(format_table(["event type", "sent", "accepted", "landed"], [*rows, total]))
    duplicate_table = catalogue.table_for(report.duplicate_type or "touch")
    where = f"WHERE event_id = '{report.duplicate_id}'"
    [log] = pipeline.query(f"SELECT COUNT(*) AS n FROM {{dataset}}.{catalogue.LANDING_TABLE} {where}")  # noqa: S608
    [view] = pipeline.query(f"SELECT COUNT(*) AS n FROM {{dataset}}.{duplicate_table.name} {where}")  # noqa: S608
    [unknown] = pipeline.query("SELECT COUNT(*) AS n FROM {dataset}.unknown_events")
    [backfilled] = pipeline.query("SELECT COUNT(*) AS n FROM {dataset}.temperature WHERE is_backfilled")
    print(
        f"\nSent in {report.seconds:.1f} s ({sum(report.sent.values()) / max(report.seconds, 1e-6):,.0f} events/s),"
        f" {report.retries} retries.\n"
        f"Redelivered duplicate: event {report.duplicate_id} ({report.duplicate_type}) sent twice:"
        f" {log['n']} rows in {catalogue.LANDING_TABLE}, {view['n']} in the view {duplicate_table.name}.\n"
        f"Unknown event types kept in unknown_events: {unknown['n']}. Backfilled temperature rows: {backfilled['n']}."
    )


HTTP_PROJECT = "simulatedproject0001"
PUBSUB_PROJECT = "simulatedproject0002"


def combined(first: Report, second: Report) -> Report:
    """Both fleets' reports as one (the redelivered duplicate shown is the first's)."""
    return Report(
        sent=first.sent + second.sent,
        accepted=first.accepted + second.accepted,
        refused=first.refused + second.refused,
        retries=first.retries + second.retries,
        duplicates=first.duplicates + second.duplicates,
        duplicate_id=first.duplicate_id or second.duplicate_id,
        duplicate_type=first.duplicate_type or second.duplicate_type,
        unknown=first.unknown + second.unknown,
        backfilled=first.backfilled + second.backfilled,
        seconds=first.seconds + second.seconds,
        accepted_ids=first.accepted_ids | second.accepted_ids,
    )


def print_paths(pipeline: Pipeline, http: Report, pubsub: Report) -> None:
    """What landed by way in: the ingest function marks its messages (source = webhook); DT's
    Pub/Sub connector sets no attribute, so its rows have no source."""
    rows = pipeline.query(
        "SELECT project_id, COALESCE(source, '') AS source, COUNT(*) AS n FROM {dataset}.events"
        " GROUP BY project_id, source ORDER BY project_id"
    )
    landed = {(row["project_id"], row["source"]): row["n"] for row in rows}
    table = [
        [HTTP_PROJECT, "HTTP_PUSH: DT -> ingest -> topic", len(http.accepted_ids), landed.get((HTTP_PROJECT, "webhook"), 0)],
        [PUBSUB_PROJECT, "GOOGLE_CLOUD_PUBSUB: DT -> topic", len(pubsub.accepted_ids), landed.get((PUBSUB_PROJECT, ""), 0)],
    ]  # fmt: skip
    print("\nBy DT project and way in (one pipeline for both):\n")
    print(format_table(["DT project", "way in", "accepted", "landed"], table))


def routers_agree(pipeline: Pipeline, expected: int) -> bool:
    """Both routers' rows of events_log, event by event, over the columns that don't depend on the
    delivery; print what each landed and whether they agree."""
    s = pipeline.settings
    landed = {router: wait_until_landed(pipeline, expected, 60, s.dataset_of(router)) for router in s.routers}
    rows = {router: pipeline.landed_rows(s.dataset_of(router)) for router in s.routers}
    first, other = (rows[router] for router in s.routers)
    differ = sorted(
        event_id for event_id in first.keys() | other.keys() if first.get(event_id) != other.get(event_id)
    )
    table = [[router, s.dataset_of(router), sum(landed[router].values())] for router in s.routers]
    print("\nBoth routers, the same events (each on its own subscription to the topic):\n")
    print(format_table(["router", "dataset", "landed"], table))
    compared = f"all columns but {', '.join(sorted(PER_DELIVERY))}"
    if not differ:
        print(f"The rows of {catalogue.LANDING_TABLE} agree for all {len(first)} events ({compared}).")
        return True
    mine, theirs = first.get(differ[0], {}), other.get(differ[0], {})
    columns = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    print(
        f"The rows of {catalogue.LANDING_TABLE} DIFFER for {len(differ)} of {len(first.keys() | other.keys())}"
        f" events ({compared}); e.g. event {differ[0]}: {', '.join(columns)}."
    )
    return False


EXAMPLES = {
    "Latest temperature per device (view temperature_latest)": (
        "SELECT device_name, timestamp, ROUND(celsius, 2) AS celsius FROM {dataset}.temperature_latest"
        " ORDER BY device_name LIMIT 6"
    ),
    "Hourly temperature, first device (view temperature_hourly)": (
        "SELECT device_name, hour, ROUND(avg_celsius, 2) AS avg_celsius, samples FROM {dataset}.temperature_hourly"
        " WHERE device_id = (SELECT MIN(device_id) FROM {dataset}.temperature) ORDER BY hour DESC LIMIT 6"
    ),
    "Devices silent the longest (view device_last_seen)": (
        "SELECT device_name, device_type, last_seen, silent_minutes FROM {dataset}.device_last_seen"
        " ORDER BY silent_minutes DESC LIMIT 6"
    ),
}


def print_examples(pipeline: Pipeline) -> None:
    for title, sql in EXAMPLES.items():
        rows = pipeline.query(sql)
        print(f"\n{title}:\n")
        if rows:
            print(format_table(list(rows[0]), [list(row.values()) for row in rows]))


def print_next_steps(pipeline: Pipeline) -> None:
    s = pipeline.settings
    print(
        "\nWhere to look next:\n"
        f"  ./run serve                      keep the pipeline running (ingest at {pipeline.ingest_url})\n"
        "  ./run send --type co2            sign and POST one event to it\n"
        f"  BigQuery emulator                {pipeline.bigquery_endpoint} (project {s.project},"
        f" datasets {' and '.join(s.dataset_of(router) for router in s.routers)})\n"
        "  README.md, 'Queries'             more example queries; 'Deploy' for terraform apply\n"
    )


def write_report(pipeline: Pipeline, path: Path, period_hours: float) -> bool:
    """The chart report of what landed, written as `./run report` writes it (dt_bigquery_ops/report)."""
    from dt_bigquery_ops import cli

    s = pipeline.settings
    print("\nChart report (open it in a browser):", flush=True)
    argv = ["report", "--dataset", f"{s.project}.{s.dataset}", "--since", f"{int(period_hours) + 1}h",
            "--output", str(path), "--dead-letter-subscription", pipeline.dead_letter_subscription_path]  # fmt: skip
    return cli.main(argv, os.environ | {"BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint}) == 0


def demo(args: argparse.Namespace) -> int:
    signer = AsymmetricSigner(organization_id=LOCAL_ORGANIZATION_ID)
    settings = settings_from(args, signer, both_routers=True)
    chosen, other = settings.routers
    print(
        f"Starting the Pub/Sub emulator, the BigQuery emulator, ingest, {ROUTER_NAMES[chosen]} into dataset"
        f" {settings.dataset} and, beside it, {ROUTER_NAMES[other]} into {settings.dataset_of(other)} ...",
        flush=True,
    )
    with Pipeline(settings) as pipeline:
        print(
            f"Ingest listening on {pipeline.ingest_url}; sending a simulated fleet (signed like DT) ...",
            flush=True,
        )
        http = run_fleet(
            pipeline.ingest_url, settings.signature_secret, signer, args.devices, args.events, args.period_hours,
            args.rate, args.concurrency, project_id=HTTP_PROJECT,
        )  # fmt: skip
        print(
            f"Publishing a second DT project's fleet straight to {pipeline.topic_path}, as DT's Pub/Sub"
            " connector would (no ingest function, no attributes) ...",
            flush=True,
        )
        pubsub = run_fleet(
            "", None, None, args.devices, args.events, args.period_hours, seed=8, project_id=PUBSUB_PROJECT,
            via="pubsub", topic=pipeline.topic_path, shape="push",
        )  # fmt: skip
        report = combined(http, pubsub)
        landed = wait_until_landed(pipeline, len(report.accepted_ids))
        print_summary(pipeline, report, landed)
        print_paths(pipeline, http, pubsub)
        agree = routers_agree(pipeline, len(report.accepted_ids))
        print_examples(pipeline)
        report_path = (args.work_dir or Path(".cache", "report")) / "demo-report.html"
        drawn = write_report(pipeline, report_path, args.period_hours)
        print_next_steps(pipeline)
        complete = sum(landed.values()) == len(report.accepted_ids) and not report.refused and agree
    print("Stopped everything." if complete else "Stopped. Some events did not land or differ: see above.")
    return 0 if complete and drawn else 1


def serve(args: argparse.Namespace) -> int:
    signer = AsymmetricSigner(organization_id=LOCAL_ORGANIZATION_ID)
    settings = settings_from(args, signer)
    generated = not os.environ.get("DT_SIGNATURE_SECRET") and not args.signature_secret
    with Pipeline(settings) as pipeline:
        print(f"ingest:            {pipeline.ingest_url}")
        if pipeline.route is not None:
            print(f"route:             {pipeline.route.url}")
        else:
            print(
                f"router:            BigQuery subscription {pipeline.bigquery_subscription_path} (stand-in)"
            )
        print(f"Pub/Sub emulator:  PUBSUB_EMULATOR_HOST={pipeline.pubsub.host} (topic {pipeline.topic_path})")
        print(
            f"BigQuery emulator: {pipeline.bigquery_endpoint} (dataset {settings.project}.{settings.dataset})"
        )
        if generated:
            print(f"signature secret (generated, shown once): {settings.signature_secret}")
        print("Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    for name in ("ingest_port", "route_port", "pubsub_port", "bigquery_port", "bigquery_grpc_port"):
        common.add_argument(
            "--" + name.replace("_", "-"), dest=name, type=int, help=f"default ${name.upper()} or built-in"
        )
    common.add_argument(
        "--project", help="Google Cloud project id (default $GOOGLE_CLOUD_PROJECT or 'local')"
    )
    common.add_argument("--dataset", help="BigQuery dataset (default $BIGQUERY_DATASET_ID or 'dt')")
    common.add_argument("--signature-secret", help="default $DT_SIGNATURE_SECRET, else generated")
    common.add_argument(
        "--router",
        choices=ROUTERS,
        help="the route function or a BigQuery subscription (default $ROUTER or function)",
    )
    common.add_argument(
        "--work-dir", type=Path, help="keep logs and BigQuery data there (default: a temporary folder)"
    )
    run = commands.add_parser(
        "demo", parents=[common], help="run the pipeline with a simulated fleet, then stop"
    )
    run.add_argument("--devices", type=int, default=2, help="devices of each DT device type (default 2)")
    run.add_argument("--events", type=int, default=20, help="events per device (default 20)")
    run.add_argument(
        "--period-hours", type=float, default=24.0, help="simulated period ending now (default 24)"
    )
    run.add_argument("--rate", type=float, default=0.0, help="requests per second, 0 = as fast as possible")
    run.add_argument("--concurrency", type=int, default=8, help="concurrent requests (default 8)")
    commands.add_parser("serve", parents=[common], help="run the pipeline until Ctrl-C")
    args = parser.parse_args(argv)
    _stop_on_sigterm()
    try:
        return demo(args) if args.command == "demo" else serve(args)
    except KeyboardInterrupt:
        print("\nInterrupted; everything was stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
