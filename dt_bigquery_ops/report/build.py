"""Put the report together: query, draw, lay out, write.

Pub/Sub (the dead-letter backlog) and DT's API (connector health) are read only when they are
configured; their section says so when they are not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dt_bigquery_ops import output
from dt_bigquery_ops.report import charts, html, queries

# Steps of the progress line: the BigQuery queries, then Pub/Sub, DT and drawing.
_STEPS = 2 + len(queries.MEASURES) + 2 + 3


@dataclass(frozen=True)
class ReportRequest:
    dataset: str
    start: datetime
    end: datetime
    output: Path
    max_devices: int = 8
    dead_letter_subscription: str | None = None
    dt_project: str | None = None


class StepProgress:
    """The progress line: which query or step runs now, and how far along the report is."""

    def __init__(self, progress: output.Progress) -> None:
        self._progress = progress
        self._done = 0

    def __call__(self, step: str) -> None:
        self._progress.update("report", self._done / _STEPS, step)
        self._done += 1

    def finish(self, detail: str) -> None:
        self._progress.update("report", 1.0, detail, done=True)


DeadLetters = Callable[[], list[dict[str, Any]]]
ConnectorHealth = Callable[[], list[dict[str, Any]]]


def build_report(
    request: ReportRequest,
    reader: queries.DatasetReader,
    step: StepProgress,
    dead_letters: DeadLetters | None = None,
    connector_health: ConnectorHealth | None = None,
) -> Path:
    """Query, draw and write the report; returns its path. OpsError when there is nothing to show."""
    data = queries.read_dataset(reader, request.start, request.end, request.max_devices)
    letters = None
    if dead_letters is not None:
        step("dead-letter backlog")
        letters = dead_letters()
    connectors = None
    if connector_health is not None:
        step("connector health")
        connectors = connector_health()
    step("drawing the charts")
    sections = _sections(request, data, letters, connectors)
    overview = data.overview
    figures = {
        "events": f"{int(overview['events']):,}",
        "devices": f"{int(overview['devices']):,}",
        "newest event": output.moment(overview["newest_event"].replace(microsecond=0)),
    }
    if letters is not None:
        figures["dead letters"] = f"{len(letters):,}"
    subtitle = (
        f"BigQuery {request.dataset}, events from {output.moment(request.start.replace(microsecond=0))} "
        f"to {output.moment(request.end.replace(microsecond=0))}"
    )
    text = html.page("DT sensor data", subtitle, figures, sections, datetime.now(UTC))
    request.output.parent.mkdir(parents=True, exist_ok=True)
    request.output.write_text(text, encoding="utf-8")
    step.finish(f"written {request.output}")
    return request.output


def _sections(
    request: ReportRequest,
    data: queries.ReportData,
    letters: list[dict[str, Any]] | None,
    connectors: list[dict[str, Any]] | None,
) -> list[html.Section]:
    found = {series.measure.key: series for series in data.series}
    readings = html.Section("Readings")
    for measure in queries.MEASURES:
        if measure.key in found:
            readings.charts.append(charts.series_chart(found[measure.key]))
    missing = [measure.key for measure in queries.MEASURES if measure.key not in found]
    if missing:
        readings.note = f"No {', '.join(missing)} readings in this window."
    activity = html.Section("Events", [charts.events_per_hour_chart(data.events_per_hour)])

    silent = html.Section("Silent devices")
    if data.silent_devices:
        silent.charts.append(charts.silent_devices_chart(data.silent_devices))
        silent.table = html.text_table(
            ["device", "device type", "last seen", "last event", "silent (min)"],
            [
                [r["device"], r["device_type"], r["last_seen"], r["last_event_type"], r["silent_minutes"]]
                for r in data.silent_devices
            ],
        )

    backlog = html.Section("Dead-letter backlog")
    if letters is None:
        backlog.note = (
            "Not checked: pass --dead-letter-subscription (or set DEAD_LETTER_SUBSCRIPTION; "
            "`terraform output -raw dead_letter_subscription`)."
        )
    elif letters:
        backlog.charts.append(charts.dead_letters_chart(letters))
        backlog.note = (
            f"In {request.dead_letter_subscription}. Inspect with `./run ops replay-dead-letters "
            "--dry-run`; replay after the fix (docs/operations.md)."
        )
    else:
        backlog.note = f"None: {request.dead_letter_subscription} is empty."

    health = html.Section("Data Connectors")
    if connectors is None:
        health.note = (
            "Not checked: set DT_API_KEY_ID, DT_API_KEY_SECRET and DT_OIDC_EMAIL and pass --dt-project."
        )
    elif connectors:
        health.charts.append(charts.connectors_chart(connectors))
        health.table = html.text_table(
            ["connector", "status", "delivered", "failed", "p99 latency", "problems"],
            [
                [
                    c["id"],
                    c["status"],
                    c["metrics"]["successCount"],
                    c["metrics"]["errorCount"],
                    c["metrics"]["latency99p"],
                    "; ".join(c["problems"]) or "-",
                ]
                for c in connectors
            ],
        )
    else:
        health.note = f"The DT project {request.dt_project} has no Data Connector."
    return [readings, activity, silent, backlog, health]
