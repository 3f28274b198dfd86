"""`python -m local.fleet`: a simulated fleet of DT sensors that sends signed events over HTTP, as DT's connector does,
or publishes them to the events topic, as DT's Pub/Sub connector does (`--via pubsub`).

    python -m local.fleet run  --url URL --secret S [--devices 2 --events 20 --period-hours 24 --rate 0]
    python -m local.fleet send --url URL --secret S [--file body.json | --type temperature]
    python -m local.fleet run  --via pubsub [--topic projects/P/topics/T] [--shape both|push|event]

Devices of every DT device type, with labels, send plausible events of all DT event types
over a simulated period ending now, signed like DT signs them. Now and then they also do
what DT really does: redeliver an event, send a type we don't know, send a backfilled one.
With `--via pubsub` nothing is signed (Google authenticates DT's connector); set
PUBSUB_EMULATOR_HOST to publish to an emulator (`./run serve` prints it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from dt_bigquery_ops import output
from functions import catalogue
from local.dt_signing import AsymmetricSigner
from local.fleet.events import body
from local.fleet.http import HttpSender
from local.fleet.model import DEVICE_EVENTS, Report
from local.fleet.plan import make_devices, plan
from local.fleet.pubsub import PubSubSender, Shape
from local.fleet.sender import Sender
from local.settings import add_setting

DEFAULT_PROJECT_ID = "simulatedproject0001"


class Via(StrEnum):
    """How the events reach the pipeline: as DT's HTTP_PUSH connector, or its Pub/Sub connector."""

    HTTP = "http"
    PUBSUB = "pubsub"


def progress_bar(label: str, enabled: bool | None) -> Callable[[int, int], None]:
    """A one-line progress bar with the rate on stderr (by default only on a terminal)."""
    bar = output.Progress(enabled)
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        rate = done / max(1e-6, time.monotonic() - started)
        bar.update(label, done / max(1, total), f"{done}/{total} {rate:,.0f}/s", done >= total)

    return show


def run_fleet(
    url: str,
    secret: str | None,
    signer: AsymmetricSigner | None = None,
    devices_per_type: int = 2,
    events_per_device: int = 20,
    period_hours: float = 24.0,
    rate: float = 0.0,
    concurrency: int = 8,
    seed: int = 7,
    project_id: str = DEFAULT_PROJECT_ID,
    progress: bool | None = None,
    via: Via | str = Via.HTTP,
    topic: str | None = None,
    shape: Shape | str = Shape.BOTH,
) -> Report:
    """Send a fleet's events to the ingest `url` (via "http"), or publish them to `topic` as DT's
    Pub/Sub connector would (via "pubsub", in message `shape` "push", "event" or "both")."""
    devices = make_devices(devices_per_type, project_id, seed)
    events = plan(devices, events_per_device, timedelta(hours=period_hours), datetime.now(UTC))
    sender: Sender
    if via == Via.PUBSUB:
        if not topic:
            raise ValueError("publishing via pubsub needs the topic (projects/<project>/topics/<topic>)")
        sender = PubSubSender(topic, shape)
    elif via == Via.HTTP:
        sender = HttpSender(url, secret, signer, concurrency=concurrency, rate=rate)
    else:
        raise ValueError(f"via must be 'http' or 'pubsub', not {via!r}")
    return sender.send_all(events, progress_bar(f"sending {len(events)} events via {via}", progress))


def _run(args: argparse.Namespace) -> int:
    report = run_fleet(
        args.url, args.secret, None, args.devices, args.events, args.period_hours, args.rate,
        args.concurrency, args.seed, project_id=args.dt_project, progress=True if args.progress else None,
        via=args.via, topic=args.topic, shape=args.shape,
    )  # fmt: skip
    rows = [
        [event_type, report.sent[event_type], report.accepted[event_type]]
        for event_type in sorted(report.sent)
    ]
    print(output.format_table(["event type", "sent", "accepted"], rows))
    print(
        f"\n{sum(report.accepted.values())} of {sum(report.sent.values())} accepted in {report.seconds:.1f} s;"
        f" {report.duplicates} redelivered duplicate(s), {report.retries} retries"
    )
    return 0 if not report.refused else 1


def _send(args: argparse.Namespace) -> int:
    if args.file:
        payload = Path(args.file).read_bytes().strip()
    else:
        device_type = next(
            (kind for kind, types in DEVICE_EVENTS.items() if args.type in types), "temperature"
        )
        device = next(d for d in make_devices(1, args.dt_project, args.seed) if d.device_type == device_type)
        payload = body(device, args.type, datetime.now(UTC))
    if args.via == Via.PUBSUB:
        connector = PubSubSender(args.topic, Shape.EVENT if args.shape == Shape.EVENT else Shape.PUSH)
        message_id = connector.publish(payload).result(timeout=60)
        print(f"published to {args.topic} as message {message_id}")
        return 0
    answer, _ = HttpSender(args.url, args.secret, None, max_attempts=1).post(payload)
    if answer is None:
        print("no answer", file=sys.stderr)
        return 1
    print(f"HTTP {answer.status_code}\n{answer.text}")
    return 0 if answer.status_code < 300 else 1


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default="http://127.0.0.1:8080/", help="the ingest URL (default: the local pipeline)"
    )
    add_setting(common, "--secret", "DT_SIGNATURE_SECRET", None, env, "the connector's signature secret")
    common.add_argument("--seed", type=int, default=7)
    common.add_argument(
        "--via", type=Via, choices=list(Via), default=Via.HTTP,
        help="POST to the ingest URL as an HTTP_PUSH connector (default), or publish to the topic"
        " as DT's GOOGLE_CLOUD_PUBSUB connector",
    )  # fmt: skip
    project = env.get("GOOGLE_CLOUD_PROJECT", "local")
    common.add_argument(
        "--topic", default=f"projects/{project}/topics/{env.get('PUBSUB_TOPIC_ID', 'dt-events')}",
        help="with --via pubsub: the events topic (default: the local pipeline's,"
        " projects/$GOOGLE_CLOUD_PROJECT/topics/$PUBSUB_TOPIC_ID)",
    )  # fmt: skip
    common.add_argument(
        "--shape", type=Shape, choices=list(Shape), default=Shape.BOTH,
        help="with --via pubsub: publish the HTTP_PUSH body, the bare inner event, or both alternately",
    )  # fmt: skip
    common.add_argument(
        "--dt-project", default=DEFAULT_PROJECT_ID, help="the simulated DT project id (default %(default)s)"
    )
    run = commands.add_parser("run", parents=[common], help="send a simulated fleet's events")
    run.add_argument("--devices", type=int, default=2, help="devices of each device type (default 2)")
    run.add_argument("--events", type=int, default=20, help="events per device (default 20)")
    run.add_argument(
        "--period-hours", type=float, default=24.0, help="simulated period ending now (default 24)"
    )
    run.add_argument("--rate", type=float, default=0.0, help="requests per second, 0 = as fast as possible")
    run.add_argument("--concurrency", type=int, default=8)
    run.add_argument(
        "--progress", action="store_true", help="show the progress bar even when not on a terminal"
    )
    send = commands.add_parser("send", parents=[common], help="sign and POST one event, print the answer")
    send.add_argument("--file", help="a body to send as is (e.g. tests/data/events/co2.json)")
    send.add_argument(
        "--type",
        default="temperature",
        choices=sorted(catalogue.event_tables()),
        help="generate an event of this type",
    )
    return parser


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = build_parser(os.environ if env is None else env)
    args = parser.parse_args(argv)
    if args.via == Via.HTTP and not args.secret:
        parser.error("--secret or DT_SIGNATURE_SECRET is required (or --via pubsub)")
    return _run(args) if args.command == "run" else _send(args)
