"""What the pipeline costs per month and per million events: writes docs/cost.md.

    .venv/bin/python -m scripts.cost_model           rewrite docs/cost.md and the README's cost lines
    .venv/bin/python -m scripts.cost_model --check   exit 1 when either is out of date

Prices come from scripts/cost/prices.toml, the fleet, settings and measured figures from
scripts/cost/inputs.toml; message and row sizes are computed from the example DT bodies in
tests/data/events with the router's own row builder. Change an input and re-run.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "scripts" / "cost" / "prices.toml"
INPUTS = ROOT / "scripts" / "cost" / "inputs.toml"
OUTPUT = ROOT / "docs" / "cost.md"
README = ROOT / "README.md"
README_BEGIN = "<!-- cost:begin (written by scripts/cost_model.py) -->\n"
README_END = "<!-- cost:end -->\n"
SECONDS_PER_DAY = 86_400
_UNITS = {1_073_741_824: "GiB", 1_099_511_627_776: "TiB"}


def load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


# Sizes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """Bytes per event: the Pub/Sub message (body and attributes) and the BigQuery row."""

    message_bytes: float
    row_bytes: float


def measure_sizes(example_events: list[str]) -> Sizes:
    """Mean sizes of the example bodies, as ingest publishes them and route writes them."""
    from functions import catalogue, envelope, rows

    messages, row_sizes = [], []
    for name in example_events:
        document = json.loads((ROOT / "tests" / "data" / "events" / f"{name}.json").read_text())
        body = json.dumps(document, separators=(",", ":")).encode()  # DT sends compact JSON
        event = envelope.parse(body)
        attributes = event.attributes() | {"source": "webhook"}
        messages.append(len(body) + sum(len(key) + len(value) for key, value in attributes.items()))
        row = rows.build(
            catalogue.table_for(event.event_type), event, body, source="webhook",
            message_id="1" * 16, published_at="2026-01-01T00:00:00.000000Z",
            ingested_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        row_sizes.append(len(json.dumps(row, default=str)))
    return Sizes(sum(messages) / len(messages), sum(row_sizes) / len(row_sizes))


# The model -----------------------------------------------------------------------------------
def events_per_month(sensors: int, fleet: dict[str, Any]) -> float:
    heartbeats = fleet["days_per_month"] * SECONDS_PER_DAY / (fleet["heartbeat_minutes"] * 60)
    return sensors * fleet["events_per_heartbeat"] * heartbeats


def billed_instances(rate: float, function: dict[str, Any], granularity: float, cpu_target: float) -> float:
    """Mean number of instances billed at any moment, under request-based billing.

    An instance is billed while it serves at least one request, in slices of at least
    `granularity`: so each request keeps a billing window of max(latency, granularity) open.
    With Poisson arrivals the open windows n follow Poisson(rate * window); they need
    ceil(n / concurrency) instances (exact for concurrency 1, an upper bound above it). And
    never fewer than the CPU the events use needs at the autoscaler's CPU target.
    """
    concurrency = function["concurrency"]
    mean = rate * max(function["latency_seconds"], granularity)
    by_cpu = rate * function["cpu_seconds_per_event"] / (function["vcpu"] * cpu_target)
    if concurrency == 1:
        return max(mean, by_cpu)
    if mean > 500:  # the distribution is narrow: ceil(n / c) ≈ n / c + 1/2
        return max(mean / concurrency + 0.5, by_cpu)
    probability, expected, n = math.exp(-mean), 0.0, 0
    while n < mean + 12 * math.sqrt(mean) + 30:
        expected += probability * math.ceil(n / concurrency)
        n += 1
        probability *= mean / n
    return max(expected, by_cpu)


@dataclass(frozen=True)
class Item:
    name: str
    usage: float  # in the price's unit (before dividing by `per`)
    price: str  # key in prices.toml


def items(sensors: int, inputs: dict[str, Any], prices: dict[str, Any], sizes: Sizes) -> list[Item]:
    """Each line of the bill for one fleet, with its monthly usage."""
    fleet, logs = inputs["fleet"], inputs["logs"]
    events = events_per_month(sensors, fleet)
    seconds = fleet["days_per_month"] * SECONDS_PER_DAY
    rate = events / seconds
    granularity = prices["run_billing_granularity"]["seconds"]
    functions = dict(inputs["functions"])
    if inputs["connector"]["type"] == "GOOGLE_CLOUD_PUBSUB":
        functions.pop("ingest")  # DT publishes to the topic itself
    result = [Item("Cloud Run functions: requests", events * len(functions), "run_requests")]
    for name, function in functions.items():
        instances = billed_instances(rate, function, granularity, prices["run_cpu_target"]["utilization"])
        instance_seconds = instances * seconds
        result.append(
            Item(
                f"Cloud Run functions: {name} vCPU time",
                instance_seconds * function["vcpu"],
                "run_vcpu_second",
            )
        )
        result.append(
            Item(
                f"Cloud Run functions: {name} memory time",
                instance_seconds * function["memory_gib"],
                "run_gib_second",
            )
        )
    billed_message = max(sizes.message_bytes, prices["pubsub_throughput"]["minimum_request_bytes"])
    result.append(Item("Pub/Sub: publish", events * billed_message, "pubsub_throughput"))
    result.append(Item("Pub/Sub: push delivery to route", events * billed_message, "pubsub_throughput"))
    billed_row = max(sizes.row_bytes, prices["bigquery_streaming_insert"]["minimum_row_bytes"])
    result.append(Item("BigQuery: streaming inserts", events * billed_row, "bigquery_streaming_insert"))
    result.append(
        Item(
            "BigQuery: storage of a month's rows, per month kept",
            events * sizes.row_bytes,
            "bigquery_active_storage",
        )
    )
    secrets = inputs["secrets"]
    result.append(
        Item("Secret Manager: active versions", secrets["active_versions"], "secret_active_version")
    )
    starts = secrets["instance_starts_per_month"] if "ingest" in functions else 0
    result.append(Item("Secret Manager: access at instance start", starts, "secret_access"))
    result.append(Item("Cloud Logging", events * log_bytes_per_event(functions, logs), "logging_storage"))
    return result


def log_bytes_per_event(functions: dict[str, Any], logs: dict[str, Any]) -> float:
    per_event = 0.0
    for function in functions.values():
        if logs["level"] in ("DEBUG", "INFO"):
            per_event += function["log_lines_per_event"] * (
                function["log_line_bytes"] + logs["entry_overhead_bytes"]
            )
        if logs["request_logs"]:
            per_event += logs["request_entry_bytes"]
    return per_event


def cost(item: Item, prices: dict[str, Any], free: bool = False) -> float:
    price = prices[item.price]
    usage = max(0.0, item.usage - price.get("free_per_month", 0)) if free else item.usage
    return usage / price["per"] * price["usd"]


def total(bill: list[Item], prices: dict[str, Any], free: bool = False) -> float:
    """The month's total; with `free`, after the monthly free allotments (one project, one account)."""
    if not free:
        return sum(cost(item, prices) for item in bill)
    usage: dict[str, float] = {}
    for item in bill:
        usage[item.price] = usage.get(item.price, 0.0) + item.usage
    return sum(cost(Item(key, amount, key), prices, free=True) for key, amount in usage.items())


# Settings that move the total ------------------------------------------------------------------
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("as configured (log level INFO, request logs kept, concurrency 80 / 40, HTTP_PUSH)", {}),
    ("log level WARNING (no line per event)", {"logs.level": "WARNING"}),
    (
        "WARNING and Cloud Run request logs excluded (a log exclusion filter)",
        {"logs.level": "WARNING", "logs.request_logs": False},
    ),
    (
        "concurrency 1 in both functions",
        {"functions.ingest.concurrency": 1, "functions.route.concurrency": 1},
    ),
    ("route 3x slower (BigQuery answering in about 100 ms)", {"functions.route.latency_seconds": 0.102}),
    ("billing rounded to 1 ms instead of 100 ms", {"prices.run_billing_granularity.seconds": 0.001}),
    (
        "connector type GOOGLE_CLOUD_PUBSUB (DT publishes; no ingest function)",
        {"connector.type": "GOOGLE_CLOUD_PUBSUB"},
    ),
]


def with_overrides(
    inputs: dict[str, Any], prices: dict[str, Any], overrides: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs, prices = copy.deepcopy(inputs), copy.deepcopy(prices)
    for dotted, value in overrides.items():
        root, *path = dotted.split(".")
        target = prices if root == "prices" else inputs
        keys = path if root == "prices" else [root, *path]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return inputs, prices


# The document --------------------------------------------------------------------------------
def usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if value >= 0.995 else f"${value:.3f}" if value >= 0.0095 else f"${value:.4f}"


def render(inputs: dict[str, Any], prices: dict[str, Any], sizes: Sizes) -> str:
    fleet = inputs["fleet"]
    sensors = fleet["sensors"]
    bills = {n: items(n, inputs, prices, sizes) for n in sensors}
    events = {n: events_per_month(n, fleet) for n in sensors}
    seconds = fleet["days_per_month"] * SECONDS_PER_DAY
    head = " | ".join(f"{n:,} sensors" for n in sensors)
    out = [
        "# What it costs",
        "",
        "Generated by `scripts/cost_model.py` from the prices in `scripts/cost/prices.toml` and the",
        "fleet, settings and measured figures in `scripts/cost/inputs.toml`; do not edit by hand:",
        "change an input and run `.venv/bin/python -m scripts.cost_model` (a test checks that this",
        "page matches). List prices in USD, before free allotments unless a line says otherwise.",
        "",
        f"Fleets: sensors on DT's default {fleet['heartbeat_minutes']}-minute heartbeat, "
        f"{fleet['events_per_heartbeat']} events per heartbeat (the reading and networkStatus), "
        f"{fleet['days_per_month']}-day months. Source: {fleet['source']}",
        "",
        "## Per fleet",
        "",
        f"| | {head} |",
        "|---|" + "---:|" * len(sensors),
        "| events a month | " + " | ".join(f"{events[n]:,.0f}" for n in sensors) + " |",
        "| events a second | " + " | ".join(f"{events[n] / seconds:,.2f}" for n in sensors) + " |",
        "| **total a month** | " + " | ".join(f"**{usd(total(bills[n], prices))}**" for n in sensors) + " |",
        "| **per million events** | "
        + " | ".join(f"**{usd(total(bills[n], prices) / events[n] * 1e6)}**" for n in sensors)
        + " |",
        "| a month after the free allotments | "
        + " | ".join(usd(total(bills[n], prices, free=True)) for n in sensors)
        + " |",
        "",
        "## Item by item, per million events",
        "",
        f"| item | {head} |",
        "|---|" + "---:|" * len(sensors),
    ]
    for index, item in enumerate(bills[sensors[0]]):
        per_million = [cost(bills[n][index], prices) / events[n] * 1e6 for n in sensors]
        out.append(f"| {item.name} | " + " | ".join(usd(value) for value in per_million) + " |")
    out += [
        "",
        "Per month: multiply by the events a month above (e.g. the whole bill of the middle fleet is",
        f"{usd(total(bills[sensors[1]], prices))}).",
        "",
        "## How each item is computed",
        "",
        "- **Requests**: one per event for each function (ingest answers DT, route takes Pub/Sub's push).",
        "- **Instance time** (request-based billing): an instance is billed, CPU and memory, while it",
        "  serves at least one request, in slices of at least "
        f"{prices['run_billing_granularity']['seconds'] * 1000:g} ms. Each request keeps a billing window of",
        "  max(its latency, that slice) open; with Poisson arrivals at rate λ the open windows follow",
        "  Poisson(λ × window) and need ceil(windows / concurrency) instances. The latency is each",
        "  function's measured time per event, not the CPU it uses: route waits on BigQuery far longer",
        "  than it computes. The CPU per event only sets a floor: the instances the autoscaler needs to",
        f"  stay at {prices['run_cpu_target']['utilization']:.0%} CPU. Cold starts are not counted.",
        f"- **Pub/Sub**: the message (body and attributes, {sizes.message_bytes:,.0f} bytes for the example",
        "  events) is billed once when ingest publishes it and once when it is pushed to route, each",
        f"  request counted as at least {prices['pubsub_throughput']['minimum_request_bytes']:,} bytes"
        " (the client batches publishes only under load).",
        f"- **BigQuery**: one row per event ({sizes.row_bytes:,.0f} bytes as JSON, most of it the raw body),",
        "  streamed with insertAll, each row counted as at least 1 KB; storage accrues every month the rows",
        "  are kept (the month's rows cost this much each month they are kept).",
        "- **Secret Manager**: the signature secret's active version(s), and one access each time an",
        "  ingest instance starts.",
        f"- **Cloud Logging**: at {inputs['logs']['level']}, one JSON line per event per function "
        f"({inputs['functions']['ingest']['log_line_bytes']} and {inputs['functions']['route']['log_line_bytes']} bytes,"
        f" plus about {inputs['logs']['entry_overhead_bytes']} bytes the entry adds),",
        "  and Cloud Run's request log entry per request (about "
        f"{inputs['logs']['request_entry_bytes']:,} bytes, estimated).",
        "",
        "## Settings that move the total",
        "",
        f"| setting | {head} |",
        "|---|" + "---:|" * len(sensors),
    ]
    for label, overrides in VARIANTS:
        varied_inputs, varied_prices = with_overrides(inputs, prices, overrides)
        cells = [
            usd(total(items(n, varied_inputs, varied_prices, sizes), varied_prices) / events[n] * 1e6)
            for n in sensors
        ]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += [
        "",
        "Figures per million events. At small fleets the 100 ms billing slice and the per-event log",
        "entries dominate; at large ones instances are busy anyway and concurrency decides how many run.",
        "",
        "## Prices",
        "",
        "| price | USD | unit | free a month | source | read on |",
        "|---|---:|---|---:|---|---|",
    ]
    for key, price in prices.items():
        if "usd" in price:
            per = _UNITS.get(price["per"]) or f"{price['per']:,}"
            amount = f"{price['usd']:.7f}".rstrip("0").rstrip(".") + (
                "" if price["per"] == 1 else f" per {per}"
            )
            free = f"{price.get('free_per_month', 0):,}"
        else:
            amount, free = (
                ", ".join(f"{value:g} {name}" for name, value in price.items() if isinstance(value, float)),
                "-",
            )
        out.append(
            f"| {key} | {amount} | {price['unit']} | {free} | {price['source']} | {price['checked']} |"
        )
    out += [
        "",
        "## Measured figures and settings",
        "",
        "| input | value | source |",
        "|---|---:|---|",
    ]
    for name, function in inputs["functions"].items():
        out.append(
            f"| {name} latency per event | {function['latency_seconds'] * 1000:g} ms | {function['latency_source']} |"
        )
        out.append(
            f"| {name} CPU per event | {function['cpu_seconds_per_event'] * 1000:g} ms | {function['cpu_source']} |"
        )
        out.append(
            f"| {name} vCPU / memory / concurrency | {function['vcpu']:g} / {function['memory_gib']:g} GiB / "
            f"{function['concurrency']} | terraform/variables.tf defaults |"
        )
        out.append(
            f"| {name} log line | {function['log_line_bytes']} bytes | {function['log_line_source']} |"
        )
    out += [
        f"| Pub/Sub message | {sizes.message_bytes:,.0f} bytes | mean of tests/data/events/{{{','.join(fleet['example_events'])}}}.json, compact, with ingest's attributes |",
        f"| BigQuery row | {sizes.row_bytes:,.0f} bytes | the same events through functions/rows.py, as JSON |",
        f"| log entry overhead, request log entry | {inputs['logs']['entry_overhead_bytes']} / {inputs['logs']['request_entry_bytes']} bytes | {inputs['logs']['source']} |",
        f"| secret accesses | {inputs['secrets']['instance_starts_per_month']:,} a month | {inputs['secrets']['source']} |",
        "",
        "Not included: network egress (none leaves Google Cloud but DT's requests in), Artifact",
        "Registry and Cloud Build for deploying the functions (a few cents a month), Cloud Monitoring",
        "alert policies (Google Cloud metrics are free), queries you run on the data.",
        "",
    ]
    return "\n".join(out)


def readme_summary(inputs: dict[str, Any], prices: dict[str, Any], sizes: Sizes) -> str:
    """The README's few lines: each fleet's month and cost per million events."""
    fleet = inputs["fleet"]
    lines = [
        f"List prices for sensors on DT's default {fleet['heartbeat_minutes']}-minute heartbeat "
        "(item by item, sources, dates and the settings that move it: [docs/cost.md](docs/cost.md)):",
        "",
        "| sensors | events a month | a month | per million events | a month after the free allotments |",
        "|---:|---:|---:|---:|---:|",
    ]
    for sensors in fleet["sensors"]:
        events = events_per_month(sensors, fleet)
        bill = items(sensors, inputs, prices, sizes)
        month, free = total(bill, prices), total(bill, prices, free=True)
        lines.append(
            f"| {sensors:,} | {events:,.0f} | {usd(month)} | {usd(month / events * 1e6)} | {usd(free)} |"
        )
    lines += [
        "",
        "Small fleets pay mostly for Cloud Run instance time (a lone request is billed 100 ms); large",
        "ones for Cloud Logging (a line per event per function at INFO, plus Cloud Run's request logs)",
        "and requests. Log level, a request-log exclusion and the connector type move it most.",
        "",
    ]
    return "\n".join(lines)


def with_readme_summary(readme: str, summary: str) -> str:
    start, end = readme.index(README_BEGIN) + len(README_BEGIN), readme.index(README_END)
    return readme[:start] + summary + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cost_model", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cost.md is out of date")
    args = parser.parse_args(argv)
    inputs, prices = load(INPUTS), load(PRICES)
    sizes = measure_sizes(inputs["fleet"]["example_events"])
    text = render(inputs, prices, sizes)
    readme = with_readme_summary(README.read_text(), readme_summary(inputs, prices, sizes))
    if args.check:
        if OUTPUT.read_text() != text or README.read_text() != readme:
            print(
                "docs/cost.md or the README's cost lines are out of date: run .venv/bin/python -m scripts.cost_model",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text)
    README.write_text(readme)
    print(f"wrote {OUTPUT.relative_to(ROOT)} and the README's cost lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
