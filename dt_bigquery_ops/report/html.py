"""The report page: one HTML file with the charts' SVG inline, no script, no link to fetch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from dt_bigquery_ops.output import format_table, moment
from dt_bigquery_ops.report.charts import Chart

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0 auto; max-width: 900px; padding: 24px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; margin: 0 0 16px; }
.figures { display: flex; gap: 24px; flex-wrap: wrap; margin: 12px 0; }
.figures div { background: #f4f6f8; border-radius: 6px; padding: 8px 14px; }
.figures b { display: block; font-size: 20px; }
figure { margin: 8px 0 0; }
figcaption, .note { color: #555; font-size: 13px; }
.note { font-style: italic; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
svg { max-width: 100%; height: auto; }
"""


@dataclass
class Section:
    """A heading, then charts, a text table or a note saying why there is no chart."""

    title: str
    charts: list[Chart] = field(default_factory=list)
    table: str = ""
    note: str = ""


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return format_table(headers, rows) if rows else ""


def page(
    title: str, subtitle: str, figures: dict[str, str], sections: list[Section], generated: datetime
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(subtitle)} · generated {escape(moment(generated.replace(microsecond=0)))}</p>',
        '<div class="figures">',
        *(f"<div><b>{escape(value)}</b>{escape(label)}</div>" for label, value in figures.items()),
        "</div>",
    ]
    for section in sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>")
        for chart in section.charts:
            parts.append(
                f'<figure class="chart" id="{escape(chart.id)}" data-title="{escape(chart.title)}">'
                f"<figcaption><b>{escape(chart.title)}</b>: {escape(chart.caption)}</figcaption>"
                f"{chart.svg}</figure>"
            )
        if section.table:
            parts.append(f"<pre>{escape(section.table)}</pre>")
        if section.note:
            parts.append(f'<p class="note">{escape(section.note)}</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
