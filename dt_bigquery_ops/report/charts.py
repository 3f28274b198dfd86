"""The report's charts: Vega-Lite specifications built with Altair, rendered to SVG by vl-convert.

Rendering happens here, offline (vl-convert embeds Vega in a V8 engine), so the report is plain
HTML and SVG: it opens with no network and no JavaScript. Altair and vl-convert are imported
lazily, only by the report (dt_bigquery_ops/requirements-report.txt).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dt_bigquery_ops.report.queries import Rows, Series

WIDTH = 760


@dataclass(frozen=True)
class Chart:
    """One rendered chart: an anchor id, a title, a caption and the SVG itself."""

    id: str
    title: str
    caption: str
    svg: str


def require_libraries() -> None:
    """Fail before any query when the chart libraries are missing (they are not in dt_bigquery_ops/requirements.txt)."""
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        from dt_bigquery_ops.errors import UsageError

        raise UsageError(
            "the report needs Altair and vl-convert: run it as `./run report`, or "
            "`pip install -r dt_bigquery_ops/requirements-report.txt`"
        ) from None


def _alt() -> Any:
    import altair

    return altair


def render_svg(chart: Any) -> str:
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_dict()))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _values(rows: Rows, *columns: str) -> Any:
    alt = _alt()
    return alt.Data(values=[{column: _iso(row[column]) for column in columns} for row in rows])


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _bucket_text(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def series_chart(series: Series) -> Chart:
    """A line per device; the caption says how many events and 2nd-gen samples it averages."""
    alt = _alt()
    measure = series.measure
    chart = (
        alt.Chart(_values(series.points, "device", "time", "value"))
        .mark_line(point=alt.OverlayMarkDef(size=12), strokeWidth=1.5, interpolate="linear")
        .encode(
            x=alt.X("time:T", title="UTC", scale=alt.Scale(type="utc")),
            y=alt.Y("value:Q", title=measure.unit, scale=alt.Scale(zero=False)),
            color=alt.Color("device:N", title="device", legend=alt.Legend(orient="bottom", columns=4)),
        )
        .properties(width=WIDTH, height=220)
    )
    samples = (
        f" carrying {series.samples:,} samples (2nd-gen sensors send several per event)"
        if series.measure.sample_column
        else ""
    )
    caption = (
        f"The {series.devices} busiest devices: {series.events:,} events{samples},"
        f" averaged per {_bucket_text(series.bucket_seconds)} into {len(series.points):,} points."
    )
    return Chart(measure.key, measure.title, caption, render_svg(chart))


def events_per_hour_chart(rows: Rows) -> Chart:
    alt = _alt()
    chart = (
        alt.Chart(_values(rows, "hour", "event_type", "events"))
        .mark_bar()
        .encode(
            x=alt.X("hour:T", title="hour (UTC)", scale=alt.Scale(type="utc")),
            y=alt.Y("sum(events):Q", title="events"),
            color=alt.Color(
                "event_type:N",
                title="event type",
                scale=alt.Scale(scheme="tableau20"),
                legend=alt.Legend(orient="bottom", columns=5),
            ),
        )
        .properties(width=WIDTH, height=220)
    )
    total = sum(int(row["events"]) for row in rows)
    types = len({row["event_type"] for row in rows})
    return Chart(
        "events-per-hour",
        "Events per type per hour",
        f"{total:,} events of {types} types (deduplicated: each event counted once).",
        render_svg(chart),
    )


def _bars(
    heading: tuple[str, str, str], values: list[dict[str, Any]], encoding: dict[str, Any], width: int
) -> Chart:
    """Horizontal bars, one row per category (y), coloured and stacked by `color`."""
    alt = _alt()
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(**encoding)
        .properties(width=width, height=alt.Step(20))
    )
    return Chart(*heading, render_svg(chart))


def silent_devices_chart(rows: Rows) -> Chart:
    alt = _alt()
    values = [
        {
            "device": row["device"],
            "device_type": row["device_type"] or "unknown",
            "hours": round(int(row["silent_minutes"]) / 60, 2),
        }
        for row in rows
    ]
    heading = (
        "silent-devices",
        "Devices silent the longest",
        f"The {len(rows)} devices with the oldest last event (view device_last_seen).",
    )
    encoding = {
        "y": alt.Y("device:N", sort="-x", title=None),
        "x": alt.X("hours:Q", title="hours since the last event"),
        "color": alt.Color("device_type:N", title="device type", legend=alt.Legend(orient="bottom")),
    }
    return _bars(heading, values, encoding, WIDTH - 160)


def dead_letters_chart(letters: list[dict[str, Any]]) -> Chart:
    alt = _alt()
    counts = Counter(
        (str(letter.get("deadLetterReason") or "unknown")[:80], letter.get("eventType") or "(none)")
        for letter in letters
    )
    values = [
        {"reason": reason, "event_type": event_type, "messages": n}
        for (reason, event_type), n in sorted(counts.items())
    ]
    heading = (
        "dead-letters",
        "Dead-letter backlog",
        f"{_count(len(letters), 'message')} wait in the dead-letter subscription, by reason and event type.",
    )
    encoding = {
        "y": alt.Y("reason:N", title=None, axis=alt.Axis(labelLimit=360)),
        "x": alt.X("sum(messages):Q", title="dead letters", axis=alt.Axis(tickMinStep=1)),
        "color": alt.Color("event_type:N", title="event type", legend=alt.Legend(orient="bottom")),
    }
    return _bars(heading, values, encoding, WIDTH - 380)


def connectors_chart(connectors: list[dict[str, Any]]) -> Chart:
    alt = _alt()
    values = [
        {"connector": f"{c['displayName'] or c['id']} ({c['status']})", "outcome": outcome, "deliveries": n}
        for c in connectors
        for outcome, n in (
            ("delivered", c["metrics"]["successCount"]),
            ("failed", c["metrics"]["errorCount"]),
        )
    ]
    heading = (
        "connectors",
        "Data Connector health",
        f"{_count(len(connectors), 'connector')}: DT's delivery metrics over the last 3 hours.",
    )
    encoding = {
        "y": alt.Y("connector:N", title=None, axis=alt.Axis(labelLimit=300)),
        "x": alt.X("deliveries:Q", title="deliveries in the last 3 hours"),
        "color": alt.Color(
            "outcome:N",
            scale=alt.Scale(domain=["delivered", "failed"], range=["#4c78a8", "#e45756"]),
            legend=alt.Legend(orient="bottom"),
        ),
    }
    return _bars(heading, values, encoding, WIDTH - 300)
