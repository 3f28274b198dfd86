"""Backfill: fetch each device's event history from DT and publish it as live events are published.

DT never re-sends what a disabled connector missed; its REST API still has the history. Each
history event (the inner `event` of a connector body) becomes the body a connector would have
sent: `{"event", "labels", "metadata"}`, labels and metadata taken from the device list. It goes
to the ingest topic with the attributes `ingest` gives live events plus `source=backfill`, so
the router writes it like a live one, and the deduplicating views show an event that had
already arrived once.

Resumable: after each page of a device is confirmed by Pub/Sub, a small JSON state file records
the next page token, so a rerun of the same command continues where an interruption stopped it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from dt_bigquery_ops import output
from dt_bigquery_ops.deployed import catalogue, envelope, errors, timestamps
from dt_bigquery_ops.dt_api import DtApi, DtApiError, Page
from dt_bigquery_ops.errors import OpsError, UsageError
from dt_bigquery_ops.google_cloud import ConfirmingPublisher, Message

STATE_VERSION = 1
SOURCE = "backfill"


def state_directory(env: Mapping[str, str] = os.environ) -> Path:
    """Where backfill state lives by default: the XDG state directory, never the repository."""
    base = env.get("XDG_STATE_HOME", "").strip() or str(Path.home() / ".local" / "state")
    return Path(base) / "dt-bigquery" / "backfill"


@dataclass(frozen=True)
class BackfillRequest:
    """What to backfill, as given on the command line."""

    project: str
    since: str
    until: str | None
    start: datetime
    end: datetime
    event_types: tuple[str, ...] = ()
    device_ids: tuple[str, ...] = ()
    label_keys: tuple[str, ...] = ("name", "description")
    topic: str | None = None
    dry_run: bool = False
    page_size: int | None = None
    state_path: Path | None = None
    restart: bool = False
    dataset: str | None = None

    def default_state_path(self) -> Path:
        """One file per project and set of options: the same command finds its own state again."""
        key = json.dumps(
            [self.project, self.since, self.until or "now", sorted(self.event_types), sorted(self.device_ids)]
        )
        return state_directory() / f"{self.project}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json"


class DeviceStatus(StrEnum):
    """Where one device's backfill is; kept in the state file as its value."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    NOT_LISTED = "not listed"  # left the project since the first run


@dataclass
class DeviceProgress:
    """How far the backfill of one device got; counts add up across resumed runs."""

    device_id: str
    device_type: str = ""
    page_token: str = ""
    done: bool = False
    pages: int = 0
    found: int = 0
    published: int = 0
    present: int | None = None
    invalid: int = 0
    status: DeviceStatus = DeviceStatus.PENDING

    def to_json(self) -> dict[str, Any]:
        return {catalogue.to_camel_case(key): value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> DeviceProgress:
        values = {catalogue.to_snake_case(key): value for key, value in document.items()}
        return cls(**values | {"status": DeviceStatus(values.get("status", DeviceStatus.PENDING))})


@dataclass
class BackfillState:
    """The state file: the window fixed at the first run and each device's progress."""

    path: Path | None
    project: str
    start: datetime
    end: datetime
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    devices: dict[str, DeviceProgress] = field(default_factory=dict)
    complete: bool = False
    resumed: bool = False

    @classmethod
    def open(cls, request: BackfillRequest) -> BackfillState:
        """The unfinished state of the same command, or a new one (dry runs keep none)."""
        if request.dry_run:
            return cls(None, request.project, request.start, request.end)
        path = request.state_path or request.default_state_path()
        fresh = cls(path, request.project, request.start, request.end)
        if request.restart or not path.exists():
            return fresh
        try:
            document = json.loads(path.read_text())
            if document.get("version") != STATE_VERSION or document.get("project") != request.project:
                raise ValueError("it belongs to another project or version")
            state = cls(
                path,
                request.project,
                timestamps.parse(document["start"]),
                timestamps.parse(document["end"]),
                started_at=timestamps.parse(document["startedAt"]),
                devices={key: DeviceProgress.from_json(value) for key, value in document["devices"].items()},
                complete=bool(document.get("complete")),
                resumed=True,
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UsageError(
                f"the state file {path} is unreadable ({error}); pass --restart to start over"
            ) from None
        return fresh if state.complete else state

    def save(self) -> None:
        if self.path is None:
            return
        document = {
            "version": STATE_VERSION,
            "project": self.project,
            "start": timestamps.to_rfc3339(self.start),
            "end": timestamps.to_rfc3339(self.end),
            "startedAt": timestamps.to_rfc3339(self.started_at),
            "complete": self.complete,
            "devices": {key: value.to_json() for key, value in self.devices.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(document, indent=1))
        os.replace(partial, self.path)  # atomic: an interruption leaves the old or the new state


def device_name(device: dict[str, Any]) -> tuple[str, str]:
    """(project id, device id) of an entry of DT's device list (`projects/<p>/devices/<d>`)."""
    match = envelope.DEVICE_NAME.match(str(device.get("name", "")))
    if match is None:
        raise DtApiError(f"DT listed a device named {device.get('name')!r}, not projects/<p>/devices/<d>")
    return match.group(1), match.group(2)


def connector_body(event: dict[str, Any], device: dict[str, Any], label_keys: tuple[str, ...]) -> bytes:
    """The body a Data Connector would have sent for a history event of `device`."""
    project_id, device_id = device_name(device)
    given = device.get("labels")
    labels = given if isinstance(given, dict) else {}
    document = {
        "event": event,
        "labels": {key: labels[key] for key in label_keys if key in labels},
        "metadata": {
            "deviceId": device_id,
            "projectId": project_id,
            "deviceType": device.get("type", ""),
            "productNumber": device.get("productNumber", ""),
        },
    }
    # surrogatepass: a lone surrogate DT sent (JSON "\\ud800") must not crash the run; envelope.parse
    # then refuses the body as not UTF-8 and the event is skipped with its reason.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def message_for(body: bytes, source: str) -> tuple[envelope.Envelope, Message]:
    """The Pub/Sub message of a connector body: the attributes `ingest` sets, with `source`."""
    event = envelope.parse(body)
    return event, (body, event.attributes() | {"source": source})


class _Coverage:
    """How much of a device's time window its pages have covered, whichever way DT sorts them."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, moments: list[datetime]) -> None:
        if moments:
            self.first = self.first or moments[0]
            self.last = moments[-1]

    def fraction(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        window = (self.end - self.start).total_seconds()
        if self.last >= self.first:
            return (self.last - self.start).total_seconds() / window
        return (self.end - self.last).total_seconds() / window


class Backfill:
    """One backfill run: the devices in order, each page published, confirmed, then recorded."""

    def __init__(
        self,
        api: DtApi,
        request: BackfillRequest,
        publisher: ConfirmingPublisher | None,
        progress: output.Progress,
        present_ids: Callable[[str, datetime, datetime], set[str]] | None = None,
    ) -> None:
        self.api = api
        self.request = request
        self.publisher = publisher
        self.progress = progress
        self.present_ids = present_ids  # (device_id, start, end) -> event ids already in BigQuery
        self.state = BackfillState.open(request)
        self.published_now = 0
        self.error: str | None = None

    def run(self) -> bool:
        """True when every device is done; False (with `error`) after a failure or Ctrl-C."""
        state = self.state
        if state.resumed:
            done = sum(device.done for device in state.devices.values())
            output.warn(
                f"resuming the backfill started {output.moment(state.started_at)} ({done} of "
                f"{len(state.devices)} devices done; state {state.path}; --restart starts over)"
            )
        devices = self._devices()
        state.save()
        current: DeviceProgress | None = None
        try:
            for index, device in enumerate(devices, start=1):
                current = state.devices[device_name(device)[1]]
                if not current.done:
                    self._backfill_device(device, current, f"[{index}/{len(devices)}]")
        except KeyboardInterrupt:
            self.error = "interrupted"
        except (DtApiError, OpsError) as error:
            self.error = str(error)
        self.progress.finish()
        if self.error is not None:
            if current is not None and not current.done:
                current.status = (
                    DeviceStatus.INTERRUPTED if self.error == "interrupted" else DeviceStatus.FAILED
                )
            state.save()
            return False
        state.complete = True
        state.save()
        return True

    def _devices(self) -> list[dict[str, Any]]:
        """The project's devices (those asked for), each with an entry in the state."""
        devices = self.api.list_devices(self.request.project)
        by_id = {device_name(device)[1]: device for device in devices}
        if self.request.device_ids:
            unknown = [device_id for device_id in self.request.device_ids if device_id not in by_id]
            if unknown:
                raise UsageError(f"no device {', '.join(unknown)} in the DT project {self.request.project}")
            devices = [by_id[device_id] for device_id in self.request.device_ids]
        for device in devices:
            device_id = device_name(device)[1]
            entry = self.state.devices.setdefault(device_id, DeviceProgress(device_id))
            entry.device_type = str(device.get("type", ""))
            if entry.status in (DeviceStatus.INTERRUPTED, DeviceStatus.FAILED, DeviceStatus.NOT_LISTED):
                entry.status = DeviceStatus.PENDING
        listed = {device_name(device)[1] for device in devices}
        for device_id, entry in self.state.devices.items():
            if device_id not in listed and not entry.done:
                entry.status = DeviceStatus.NOT_LISTED  # left the project since the first run
        return devices

    def _backfill_device(self, device: dict[str, Any], entry: DeviceProgress, label: str) -> None:
        request, state = self.request, self.state
        present = None
        if self.present_ids is not None:
            present = self.present_ids(entry.device_id, state.start, state.end)
            entry.present = entry.present or 0
        coverage = _Coverage(state.start, state.end)
        resuming_token = entry.page_token
        entry.status = DeviceStatus.RUNNING
        while not entry.done:
            try:
                page = self._page(entry)
            except DtApiError as error:
                if not (resuming_token and error.status == 400 and entry.page_token == resuming_token):
                    raise
                output.warn(f"DT refused the saved page token of {entry.device_id}; restarting that device")
                entry.page_token = resuming_token = ""
                entry.pages = entry.found = entry.published = entry.invalid = 0
                entry.present = None if present is None else 0
                continue
            messages: list[Message] = []
            moments: list[datetime] = []
            for event in page.items:
                try:
                    parsed, message = message_for(connector_body(event, device, request.label_keys), SOURCE)
                    if (parsed.project_id, parsed.device_id) != (request.project, entry.device_id):
                        raise errors.InvalidBody(f"its targetName is {event.get('targetName')!r}")
                except errors.InvalidBody as error:
                    entry.invalid += 1
                    output.warn(f"skipped an event of {entry.device_id} that is not a DT event: {error}")
                    continue
                messages.append(message)
                moments.append(parsed.timestamp)
                if present is not None and parsed.event_id in present:
                    entry.present = (entry.present or 0) + 1
            if self.publisher is not None and messages:
                self.publisher.publish_all(messages)
                entry.published += len(messages)
                self.published_now += len(messages)
            entry.pages += 1
            entry.found += len(page.items)
            entry.page_token = page.next_page_token
            entry.done = not page.next_page_token
            coverage.add(moments)
            state.save()
            self.progress.update(
                f"{label} {entry.device_id}",
                coverage.fraction(),
                f"page {entry.pages}, {entry.found} events",
                done=entry.done,
            )
        entry.status = DeviceStatus.DONE
        state.save()

    def _page(self, entry: DeviceProgress) -> Page:
        request = self.request
        return self.api.event_page(
            request.project,
            entry.device_id,
            self.state.start,
            self.state.end,
            event_types=list(request.event_types) or None,
            page_token=entry.page_token,
            page_size=request.page_size,
        )

    # Reporting ---------------------------------------------------------------------------
    def result(self) -> dict[str, Any]:
        """What the backfill did, as `--json` prints it."""
        devices = list(self.state.devices.values())
        checked = self.present_ids is not None
        return {
            "project": self.request.project,
            "since": self.state.start,
            "until": self.state.end,
            "eventTypes": list(self.request.event_types) or "all",
            "topic": self.request.topic,
            "dryRun": self.request.dry_run,
            "state": None if self.state.path is None else str(self.state.path),
            "resumed": self.state.resumed,
            "complete": self.error is None,
            "error": self.error,
            "devices": [device.to_json() for device in devices],
            "totals": {
                "devices": len(devices),
                "devicesDone": sum(device.done for device in devices),
                "found": sum(device.found for device in devices),
                "published": sum(device.published for device in devices),
                "publishedThisRun": self.published_now,
                "alreadyPresent": sum(device.present or 0 for device in devices) if checked else None,
                "invalid": sum(device.invalid for device in devices),
            },
        }

    def print_result(self) -> None:
        summary = self.result()
        totals = summary["totals"]
        target = (
            "dry run: nothing published" if self.request.dry_run else f"published to {self.request.topic}"
        )
        types = ", ".join(self.request.event_types) or "all event types"
        print(
            f"Backfill of DT project {self.request.project}, {output.moment(self.state.start)} to "
            f"{output.moment(self.state.end)}, {types}; {target}\n"
        )
        output.table(
            ["device", "type", "pages", "events", "published", "present", "invalid", "status"],
            [
                [d.device_id, d.device_type, d.pages, d.found, d.published, d.present, d.invalid, d.status]
                for d in self.state.devices.values()
            ],
        )
        this_run = "dry run" if self.request.dry_run else f"{totals['publishedThisRun']} by this run"
        print(
            f"\n{totals['devicesDone']} of {totals['devices']} devices done; {totals['found']} events found, "
            f"{totals['published']} published ({this_run})"
            + ("" if totals["invalid"] == 0 else f", {totals['invalid']} skipped as not DT events")
        )
        if totals["alreadyPresent"] is not None:
            print(
                f"{totals['alreadyPresent']} of them were already in BigQuery (informational: they were "
                "published anyway, and the views show each event once)"
            )
