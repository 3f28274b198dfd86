"""A simulated fleet of DT sensors that sends signed events over HTTP, as DT's connector does,
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
import json
import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from functions import catalogue, timestamps
from local.dt_signing import AsymmetricSigner, headers_for, new_xid
from ops.output import format_table

# What each DT device type sends (first: its main event type).
DEVICE_EVENTS: dict[str, list[str]] = {
    "temperature": ["temperature", "probeWireStatus"],
    "humidity": ["humidity"],
    "co2": ["co2", "pressure", "humidity"],
    "proximity": ["objectPresent"],
    "touch": ["touch"],
    "proximityCounter": ["objectPresentCount"],
    "touchCounter": ["touchCount"],
    "waterDetector": ["waterPresent"],
    "motion": ["motion"],
    "deskOccupancy": ["deskOccupancy"],
    "contact": ["contact"],
    "ccon": ["connectionStatus", "ethernetStatus", "cellularStatus"],
}
SENSOR_HOUSEKEEPING = ["networkStatus", "batteryStatus", "touch"]  # every sensor, not Cloud Connectors
PLACES = [
    "Kitchen",
    "Server room",
    "Meeting room 3",
    "Warehouse B",
    "Lobby",
    "Freezer 2",
    "Office 4.12",
    "Lab",
]
UNKNOWN_EVENT_TYPE = "airQuality"


@dataclass
class Device:
    device_id: str
    device_type: str
    project_id: str
    labels: dict[str, str]
    rng: random.Random
    baseline: float = 0.0
    counter: int = 0
    cloud_connectors: list[str] = field(default_factory=list)

    @property
    def event_types(self) -> list[str]:
        own = DEVICE_EVENTS[self.device_type]
        return own if self.device_type == "ccon" else own + SENSOR_HOUSEKEEPING


def _samples(
    device: Device, moment: datetime, value: Callable[[datetime], dict[str, Any]]
) -> list[dict[str, Any]]:
    """2nd-gen sensors send several samples per event, newest first."""
    count = device.rng.choice([1, 1, 2, 3])
    return [
        value(moment - timedelta(minutes=5 * i))
        | {"sampleTime": timestamps.to_rfc3339(moment - timedelta(minutes=5 * i))}
        for i in range(count)
    ]


def _daily(device: Device, moment: datetime, amplitude: float) -> float:
    hours = moment.hour + moment.minute / 60
    return round(
        device.baseline + amplitude * math.sin((hours - 9) / 24 * 2 * math.pi) + device.rng.gauss(0, 0.2), 2
    )


def event_data(event_type: str, device: Device, moment: datetime) -> dict[str, Any]:
    """Plausible `data.<eventType>` of one event at `moment` (without updateTime)."""
    rng = device.rng
    if event_type == "temperature":
        samples = _samples(device, moment, lambda t: {"value": _daily(device, t, 1.5)})
        return {"value": samples[0]["value"], "samples": samples, "isBackfilled": False}
    if event_type == "humidity":
        samples = _samples(
            device,
            moment,
            lambda t: {
                "temperature": _daily(device, t, 1.0),
                "relativeHumidity": round(rng.uniform(30, 60), 1),
            },
        )
        first = samples[0]
        return {
            "temperature": first["temperature"],
            "relativeHumidity": first["relativeHumidity"],
            "samples": samples,
            "isBackfilled": False,
        }
    if event_type == "co2":
        return {"ppm": int(420 + max(0, _daily(device, moment, 400) - device.baseline))}
    if event_type == "pressure":
        return {"pascal": round(rng.gauss(101_325, 300), 1)}
    if event_type in ("objectPresent", "waterPresent"):
        return {"state": rng.choice(["PRESENT", "NOT_PRESENT"])}
    if event_type in ("objectPresentCount", "touchCount"):
        device.counter += rng.randint(1, 20)
        return {"total": device.counter}
    if event_type == "touch":
        return {}
    if event_type == "motion":
        return {"state": rng.choice(["MOTION_DETECTED", "NO_MOTION_DETECTED"])}
    if event_type == "deskOccupancy":
        return {
            "state": rng.choice(["OCCUPIED", "NOT_OCCUPIED"]),
            "remarks": rng.choice([[], ["INCOMPLETE_DATA"]]),
        }
    if event_type == "contact":
        return {"state": rng.choice(["OPEN", "CLOSED"])}
    if event_type == "probeWireStatus":
        return {"state": rng.choice(["TWO_WIRE", "THREE_WIRE", "FOUR_WIRE"])}
    if event_type == "networkStatus":
        connectors = [
            {"id": ccon, "signalStrength": rng.randint(20, 99), "rssi": rng.randint(-100, -50)}
            for ccon in device.cloud_connectors
        ]
        best = max(connectors, key=lambda c: c["signalStrength"])
        return {
            "signalStrength": best["signalStrength"],
            "rssi": best["rssi"],
            "cloudConnectors": connectors,
            "transmissionMode": rng.choice(["LOW_POWER_STANDARD_MODE", "HIGH_POWER_BOOST_MODE"]),
        }
    if event_type == "batteryStatus":
        return {"percentage": rng.randint(60, 100)}
    if event_type == "connectionStatus":
        return {"connection": rng.choice(["ETHERNET", "CELLULAR"]), "available": ["ETHERNET", "CELLULAR"]}
    if event_type == "ethernetStatus":
        return {
            "macAddress": f"f0:b5:b7:00:{rng.randint(0, 255):02x}:{rng.randint(0, 255):02x}",
            "ipAddress": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "errors": [],
        }
    if event_type == "cellularStatus":
        return {"signalStrength": rng.randint(10, 99), "errors": []}
    raise ValueError(f"the fleet has no model for event type {event_type}")


def body(device: Device, event_type: str, moment: datetime, data: dict[str, Any] | None = None) -> bytes:
    """The exact body DT would send, compact JSON in DT's key order."""
    if event_type == "labelsChanged":
        payload = (
            data
            if data is not None
            else {"added": {}, "modified": {"name": device.labels["name"]}, "removed": []}
        )
    else:
        inner = data if data is not None else event_data(event_type, device, moment)
        payload = {event_type: inner | {"updateTime": timestamps.to_rfc3339(moment)}}
    document = {
        "event": {
            "eventId": new_xid(),
            "targetName": f"projects/{device.project_id}/devices/{device.device_id}",
            "eventType": event_type,
            "data": payload,
            "timestamp": timestamps.to_rfc3339(moment),
        },
        "labels": device.labels,
        "metadata": {
            "deviceId": device.device_id,
            "projectId": device.project_id,
            "deviceType": device.device_type,
            "productNumber": "",
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


def make_devices(per_type: int, project_id: str, seed: int) -> list[Device]:
    rng = random.Random(seed)
    ccons = [new_xid() for _ in range(max(1, per_type))]
    devices = []
    for device_type in DEVICE_EVENTS:
        for index in range(per_type):
            baseline = {"temperature": rng.choice([-18.0, 4.0, 21.0]), "humidity": 21.0, "co2": 600.0}.get(
                device_type, 0.0
            )
            place = rng.choice(PLACES)
            if device_type == "temperature":
                place = {-18.0: "Freezer", 4.0: "Fridge"}.get(baseline, "Office")
            device_id = ccons[index] if device_type == "ccon" else new_xid()
            labels = {
                "name": f"{place} {device_type} {index + 1}",
                "description": f"Simulated {device_type} sensor in {place.lower()}",
                "site": "Oslo HQ",
            }
            devices.append(
                Device(
                    device_id,
                    device_type,
                    project_id,
                    labels,
                    random.Random(rng.random()),
                    baseline,
                    rng.randint(0, 5000),
                    rng.sample(ccons, min(2, len(ccons))),
                )
            )
    return devices


@dataclass
class PlannedEvent:
    event_type: str
    body: bytes
    kind: str = "event"  # event | duplicate | unknown | backfilled


def plan(
    devices: list[Device], events_per_device: int, period: timedelta, now: datetime
) -> list[PlannedEvent]:
    """Every device's events over `period`, oldest first, plus the special cases DT produces."""
    planned: list[tuple[datetime, PlannedEvent]] = []
    start = now - period
    for index, device in enumerate(devices):
        types = device.event_types
        sequence = types + [types[0]] * max(
            0, events_per_device - len(types)
        )  # each type once, then the main one
        if index % len(DEVICE_EVENTS) == 0:
            sequence.append("labelsChanged")
        step = period / max(1, len(sequence))
        for number, event_type in enumerate(sequence):
            moment = (
                start + step * number + timedelta(seconds=device.rng.uniform(0, step.total_seconds() * 0.5))
            )
            planned.append((moment, PlannedEvent(event_type, body(device, event_type, moment))))
    planned.sort(key=lambda item: item[0])
    events = [event for _, event in planned]
    if devices and events:
        rng = random.Random(len(events))
        events.append(
            PlannedEvent(events[len(events) // 2].event_type, events[len(events) // 2].body, "duplicate")
        )
        sensor = next(d for d in devices if d.device_type == "temperature")
        events.append(
            PlannedEvent(
                UNKNOWN_EVENT_TYPE,
                body(sensor, UNKNOWN_EVENT_TYPE, now, {"voc": round(rng.uniform(50, 400), 1)}),
                "unknown",
            )
        )
        old = now - period - timedelta(hours=2)
        data = event_data("temperature", sensor, old) | {"isBackfilled": True}
        events.append(PlannedEvent("temperature", body(sensor, "temperature", old, data), "backfilled"))
    return events


@dataclass
class Report:
    """What was sent and what the endpoint answered, per event type."""

    sent: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    duplicates: int = 0
    duplicate_id: str | None = None
    duplicate_type: str | None = None
    unknown: int = 0
    backfilled: int = 0
    seconds: float = 0.0
    accepted_ids: set[str] = field(default_factory=set)


class Sender:
    """POSTs planned events concurrently, retrying 5xx and timeouts as DT does (bounded here)."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        signer: AsymmetricSigner | None,
        concurrency: int = 8,
        rate: float = 0.0,
        max_attempts: int = 5,
    ) -> None:
        self.url, self.secret, self.signer = url, secret, signer
        self.concurrency, self.rate, self.max_attempts = concurrency, rate, max_attempts
        self._local = threading.local()
        self._lock = threading.Lock()
        self._next_slot = time.monotonic()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _wait_for_slot(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            slot = max(self._next_slot, time.monotonic())
            self._next_slot = slot + 1 / self.rate
        time.sleep(max(0.0, slot - time.monotonic()))

    def _signing(self, number: int) -> dict[str, Any]:
        """Alternate the schemes DT uses: shared secret, asymmetric, or both."""
        if self.signer is None:
            return {"secret": self.secret}
        if self.secret is None:
            return {"signer": self.signer}
        return [
            {"secret": self.secret},
            {"signer": self.signer},
            {"secret": self.secret, "signer": self.signer},
        ][number % 3]

    def post(self, payload: bytes, number: int = 0) -> tuple[requests.Response | None, int]:
        """Send until a 2xx or a 4xx (or attempts run out); returns the last answer and retries."""
        answer = None
        for attempt in range(self.max_attempts):
            self._wait_for_slot()
            try:
                answer = self._session().post(
                    self.url, data=payload, headers=headers_for(payload, **self._signing(number)), timeout=30
                )
                if answer.status_code < 500:
                    return answer, attempt
            except requests.RequestException:
                answer = None
            time.sleep(min(2.0, 0.2 * 2**attempt))
        return answer, self.max_attempts - 1

    def send_all(
        self, events: list[PlannedEvent], progress: Callable[[int, int], None] | None = None
    ) -> Report:
        report = Report()
        started = time.monotonic()
        done = 0

        def one(numbered: tuple[int, PlannedEvent]) -> None:
            nonlocal done
            number, event = numbered
            answer, retries = self.post(event.body, number)
            ok = answer is not None and answer.status_code < 300
            with self._lock:
                report.retries += retries
                if event.kind == "duplicate":
                    report.duplicates += 1
                    report.duplicate_id = json.loads(event.body)["event"]["eventId"]
                    report.duplicate_type = event.event_type
                else:
                    report.sent[event.event_type] += 1
                    (report.accepted if ok else report.refused)[event.event_type] += 1
                    if ok:
                        report.accepted_ids.add(json.loads(event.body)["event"]["eventId"])
                report.unknown += event.kind == "unknown"
                report.backfilled += event.kind == "backfilled"
                done += 1
                if progress:
                    progress(done, len(events))

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(one, enumerate(events)))
        report.seconds = time.monotonic() - started
        return report


class ProgressBar:
    """A one-line progress bar with rate on stderr (only on a terminal unless forced)."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        width = 30
        filled = int(width * done / max(1, total))
        rate = done / max(1e-6, now - self.started)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:,.0f}/s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


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
    project_id: str = "simulatedproject0001",
    progress: bool | None = None,
    via: str = "http",
    topic: str | None = None,
    shape: str = "both",
) -> Report:
    """Send a fleet's events to the ingest `url` (via "http"), or publish them to `topic` as DT's
    Pub/Sub connector would (via "pubsub", in message `shape` "push", "event" or "both")."""
    devices = make_devices(devices_per_type, project_id, seed)
    events = plan(devices, events_per_device, timedelta(hours=period_hours), datetime.now(UTC))
    if via == "pubsub":
        from local.fleet.pubsub import PubSubConnector  # imports this module

        if not topic:
            raise ValueError("publishing via pubsub needs the topic (projects/<project>/topics/<topic>)")
        sender: Sender | PubSubConnector = PubSubConnector(topic, shape)
    elif via == "http":
        sender = Sender(url, secret, signer, concurrency=concurrency, rate=rate)
    else:
        raise ValueError(f"via must be 'http' or 'pubsub', not {via!r}")
    return sender.send_all(events, ProgressBar(f"sending {len(events)} events via {via}", progress))


def _main_run(args: argparse.Namespace) -> int:
    report = run_fleet(
        args.url,
        args.secret,
        None,
        args.devices,
        args.events,
        args.period_hours,
        args.rate,
        args.concurrency,
        args.seed,
        project_id=args.dt_project,
        progress=True if args.progress else None,
        via=args.via,
        topic=args.topic,
        shape=args.shape,
    )
    rows = [
        [event_type, report.sent[event_type], report.accepted[event_type]]
        for event_type in sorted(report.sent)
    ]
    print(format_table(["event type", "sent", "accepted"], rows))
    print(
        f"\n{sum(report.accepted.values())} of {sum(report.sent.values())} accepted in {report.seconds:.1f} s;"
        f" {report.duplicates} redelivered duplicate(s), {report.retries} retries"
    )
    return 0 if not report.refused else 1


def _main_send(args: argparse.Namespace) -> int:
    if args.file:
        payload = Path(args.file).read_bytes().strip()
    else:
        device_type = next(
            (kind for kind, types in DEVICE_EVENTS.items() if args.type in types), "temperature"
        )
        device = next(d for d in make_devices(1, args.dt_project, args.seed) if d.device_type == device_type)
        payload = body(device, args.type, datetime.now(UTC))
    if args.via == "pubsub":
        from local.fleet.pubsub import PubSubConnector  # imports this module

        connector = PubSubConnector(args.topic, "event" if args.shape == "event" else "push")
        message_id = connector.publish(payload).result(timeout=60)
        print(f"published to {args.topic} as message {message_id}")
        return 0
    answer, _ = Sender(args.url, args.secret, None, max_attempts=1).post(payload)
    if answer is None:
        print("no answer", file=sys.stderr)
        return 1
    print(f"HTTP {answer.status_code}\n{answer.text}")
    return 0 if answer.status_code < 300 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default="http://127.0.0.1:8080/", help="the ingest URL (default: the local pipeline)"
    )
    common.add_argument(
        "--secret", default=None, help="the connector's signature secret (default: $DT_SIGNATURE_SECRET)"
    )
    common.add_argument("--seed", type=int, default=7)
    common.add_argument(
        "--via",
        choices=["http", "pubsub"],
        default="http",
        help="POST to the ingest URL as an HTTP_PUSH connector (default), or publish to the topic"
        " as DT's GOOGLE_CLOUD_PUBSUB connector",
    )
    common.add_argument(
        "--topic",
        default=None,
        help="with --via pubsub: the events topic (default: the local pipeline's,"
        " projects/$GOOGLE_CLOUD_PROJECT/topics/$PUBSUB_TOPIC_ID)",
    )
    common.add_argument(
        "--shape",
        choices=["both", "push", "event"],
        default="both",
        help="with --via pubsub: publish the HTTP_PUSH body, the bare inner event, or both alternately",
    )
    common.add_argument(
        "--dt-project",
        default="simulatedproject0001",
        help="the simulated DT project id (default %(default)s)",
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
    args = parser.parse_args(argv)
    import os

    args.secret = args.secret or os.environ.get("DT_SIGNATURE_SECRET")
    if args.via == "pubsub":
        args.topic = args.topic or (
            f"projects/{os.environ.get('GOOGLE_CLOUD_PROJECT', 'local')}"
            f"/topics/{os.environ.get('PUBSUB_TOPIC_ID', 'dt-events')}"
        )
    elif not args.secret:
        parser.error("--secret or DT_SIGNATURE_SECRET is required (or --via pubsub)")
    return _main_run(args) if args.command == "run" else _main_send(args)


if __name__ == "__main__":
    sys.exit(main())
