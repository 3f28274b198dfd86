"""What the pipeline costs per month and per million events: the tables of docs/cost.md.

    .venv/bin/python -m scripts.cost_model           rewrite docs/cost.md's tables and the README's cost lines
    .venv/bin/python -m scripts.cost_model --check   exit 1 when either is out of date

docs/cost.md is written by hand; only what lies between its `<!-- table:NAME -->` and
`<!-- /table:NAME -->` markers is generated here. Prices come from scripts/cost/prices.toml; the
fleet, settings, queries and benchmark figures from scripts/cost/inputs.toml; the functions' log
lines from scripts/cost/log_volume.toml (measured by bench/log_volume.py). Each is loaded into a
checked dataclass (scripts/cost_inputs.py): a missing or unknown key is an error that names it. Message and row sizes
are computed from the example DT bodies in tests/data/events with the router's own row builder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scripts.cost_inputs import (
    ROOT,
    Combination,
    Fleet,
    Function,
    InputError,
    Inputs,
    LogVolume,
    Prices,
    Query,
    load_inputs,
    load_log_volume,
    load_prices,
)

OUTPUT = ROOT / "docs" / "cost.md"
README = ROOT / "README.md"
README_BEGIN = "<!-- cost:begin (written by scripts/cost_model.py) -->\n"
README_END = "<!-- cost:end -->\n"
_UNITS = {1_073_741_824: "GiB", 1_099_511_627_776: "TiB"}


# Sizes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """Bytes per event: the Pub/Sub message (body and attributes), the row as JSON (what insertAll
    and a BigQuery subscription carry), and each column's logical size per example event."""

    message_bytes: float
    row_bytes: float
    columns: dict[str, dict[str, float]] = field(default_factory=dict)  # example -> column -> bytes


_FIXED_BYTES = {"INTEGER": 8, "INT64": 8, "FLOAT": 8, "FLOAT64": 8, "TIMESTAMP": 8, "DATE": 8, "DATETIME": 8,
                "TIME": 8, "NUMERIC": 16, "BOOLEAN": 1, "BOOL": 1}  # fmt: skip


def logical_bytes(value: Any, column: dict[str, Any]) -> float:
    """A value's size as BigQuery bills a query that reads it (data type sizes; JSON as its text)."""
    if value is None:
        return 0
    if column.get("mode") == "REPEATED":
        return sum(logical_bytes(item, column | {"mode": "NULLABLE"}) for item in value)
    kind = column["type"]
    if kind in ("RECORD", "STRUCT"):
        return sum(logical_bytes(value.get(sub["name"]), sub) for sub in column["fields"])
    if kind in _FIXED_BYTES:
        return _FIXED_BYTES[kind]
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return (0 if kind == "JSON" else 2) + len(text.encode())


def measure_sizes(example_events: list[str]) -> Sizes:
    """Mean sizes of the example bodies, as ingest publishes them and route writes them."""
    from functions import catalogue, envelope, rows

    messages, row_sizes, columns = [], [], {}
    for name in example_events:
        document = json.loads((ROOT / "tests" / "data" / "events" / f"{name}.json").read_text())
        body = json.dumps(document, separators=(",", ":")).encode()  # DT sends compact JSON
        event = envelope.parse(body)
        attributes = event.attributes() | {"source": "webhook"}
        messages.append(len(body) + sum(len(key) + len(value) for key, value in attributes.items()))
        table = catalogue.table_for(event.event_type)
        row = rows.build(
            table, event, body, source="webhook", message_id="1" * 16,
            published_at="2026-01-01T00:00:00.000000Z", ingested_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        row_sizes.append(len(json.dumps(row, default=str)))
        columns[name] = {
            column["name"]: logical_bytes(row.get(column["name"]), column) for column in table.schema
        }
    return Sizes(sum(messages) / len(messages), sum(row_sizes) / len(row_sizes), columns)


# The model -----------------------------------------------------------------------------------
def billed_instances(rate: float, function: Function, granularity: float, cpu_target: float) -> float:
    """Mean number of instances billed at any moment, under request-based billing.

    An instance is billed while it serves at least one request, in slices of at least
    `granularity`: so each request keeps a billing window of max(latency, granularity) open.
    With Poisson arrivals the open windows n follow Poisson(rate * window); they need
    ceil(n / concurrency) instances (exact for concurrency 1, an upper bound above it). And
    never fewer than the CPU the events use needs at the autoscaler's CPU target.
    """
    concurrency = function.concurrency
    mean = rate * max(function.latency_seconds, granularity)
    by_cpu = rate * function.cpu_seconds_per_event / (function.vcpu * cpu_target)
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


@dataclass(frozen=True)
class Model:
    inputs: Inputs
    prices: Prices
    log_volume: LogVolume
    sizes: Sizes

    def replace(self, **changes: Any) -> Model:
        """A copy with some inputs changed: `logs=...`, `functions=...` or `platform=...`."""
        platform = changes.pop("platform", None)
        prices = (
            self.prices if platform is None else Prices(self.prices.prices, self.prices.platform | platform)
        )
        return Model(dataclasses.replace(self.inputs, **changes), prices, self.log_volume, self.sizes)

    @property
    def fleet(self) -> Fleet:
        return self.inputs.fleet

    def platform(self, key: str) -> float:
        return self.prices.platform[key].value

    def instances(self, sensors: int, name: str) -> float:
        rate = self.fleet.events_per_month(sensors) / self.fleet.seconds_per_month
        return billed_instances(
            rate,
            self.inputs.functions[name],
            self.platform("run_billing_granularity"),
            self.platform("run_cpu_target"),
        )

    def log_bytes(self, sensors: int, name: str) -> float:
        """A month of one function's log entries: summaries, start-up lines, per-event lines at
        DEBUG, and Cloud Run's request log entries unless the 2xx ones are excluded."""
        logs, events = self.inputs.logs, self.fleet.events_per_month(sensors)
        overhead, total = logs.entry_overhead_bytes, 0.0
        if logs.level in ("DEBUG", "INFO"):
            lines = self.log_volume.levels[logs.level.lower()][name]
            # Each instance writes a summary in every interval in which it served an event.
            serving = max(1, math.ceil(self.instances(sensors, name)))
            intervals = self.fleet.seconds_per_month / logs.summary_seconds
            per_instance = events / intervals / serving
            summaries = intervals * serving * (1 - math.exp(-per_instance))
            total += summaries * (lines.summary_line_bytes + overhead)
            total += self.inputs.instances.starts_per_month * (lines.start_up_line_bytes + overhead)
            if logs.level == "DEBUG":
                total += events * (lines.per_event_line_bytes + overhead)
        if not logs.exclude_successful_request_logs:
            total += events * logs.request_entry_bytes
        return total

    def items(self, sensors: int, combination: Combination) -> list[Item]:
        """Each line of the bill for one fleet and combination, with its monthly usage."""
        events, seconds = self.fleet.events_per_month(sensors), self.fleet.seconds_per_month
        functions = combination.functions()
        sizes, prices = self.sizes, self.prices
        message = max(sizes.message_bytes, prices["pubsub_throughput"].minimum_bytes)
        result = (
            [Item("Cloud Run functions: requests", events * len(functions), "run_requests")]
            if functions
            else []
        )
        for name in functions:
            function = self.inputs.functions[name]
            instance_seconds = self.instances(sensors, name) * seconds
            result.append(
                Item(
                    f"Cloud Run functions: {name} vCPU time",
                    instance_seconds * function.vcpu,
                    "run_vcpu_second",
                )
            )
            result.append(Item(f"Cloud Run functions: {name} memory time", instance_seconds * function.memory_gib, "run_gib_second"))  # fmt: skip
        result.append(Item("Pub/Sub: publish", events * message, "pubsub_throughput"))
        if combination.router == "function":
            result.append(Item("Pub/Sub: push delivery to route", events * message, "pubsub_throughput"))
            row = max(sizes.row_bytes, prices["bigquery_streaming_insert"].minimum_bytes)
            result.append(Item("BigQuery: streaming inserts", events * row, "bigquery_streaming_insert"))
        else:
            # The transform bills the larger of its input and output; which of the two the
            # subscription bills is unverified, so the larger too.
            larger = max(sizes.message_bytes, sizes.row_bytes)
            result.append(Item("Pub/Sub: JavaScript UDF transform", events * larger, "pubsub_smt_udf"))
            billed = max(larger, prices["pubsub_bigquery_subscription"].minimum_bytes)
            result.append(
                Item("Pub/Sub: BigQuery subscription", events * billed, "pubsub_bigquery_subscription")
            )
        result.append(Item("BigQuery: storage of a month's rows, per month kept", events * sizes.row_bytes, "bigquery_active_storage"))  # fmt: skip
        if "ingest" in functions:
            secrets = self.inputs.secrets
            result.append(
                Item("Secret Manager: active versions", secrets.active_versions, "secret_active_version")
            )
            starts = self.inputs.instances.starts_per_month
            result.append(Item("Secret Manager: access at instance start", starts, "secret_access"))
        result.append(
            Item("Cloud Logging", sum(self.log_bytes(sensors, name) for name in functions), "logging_storage")
        )
        return result

    def cost(self, item: Item, free: bool = False) -> float:
        price = self.prices[item.price]
        usage = max(0.0, item.usage - price.free_per_month) if free else item.usage
        return usage / price.per * price.usd

    def total(self, bill: list[Item], free: bool = False) -> float:
        """The month's total; with `free`, after the monthly free allotments (one project, one account)."""
        if not free:
            return sum(self.cost(item) for item in bill)
        usage: dict[str, float] = {}
        for item in bill:
            usage[item.price] = usage.get(item.price, 0.0) + item.usage
        return sum(self.cost(Item(key, amount, key), free=True) for key, amount in usage.items())

    def per_million(self, sensors: int, combination: Combination, item: str = "total") -> float:
        bill = self.items(sensors, combination)
        chosen = bill if item == "total" else [entry for entry in bill if entry.name == item]
        if item != "total" and not chosen:
            return 0.0  # e.g. no Cloud Logging line without functions
        return self.total(chosen) / self.fleet.events_per_month(sensors) * 1e6

    def combination(self, name: str) -> Combination:
        for combination in self.inputs.combinations:
            if combination.name == name:
                return combination
        raise InputError(f"no combination {name!r} in inputs.toml [[combinations]]")

    # Queries ---------------------------------------------------------------------------------
    def query_bytes(self, sensors: int, query: Query) -> float:
        """Bytes a query reads (billed: at least 10 MB per table referenced, per part)."""
        fleet, views = self.fleet, self.inputs.views
        per_day = fleet.events_per_month(sensors) / fleet.days_per_month
        total = 0.0
        for part in query.parts:
            days = {"window": views.window_days, "retention": views.retention_days}.get(part.days, part.days)  # type: ignore[call-overload]
            if not isinstance(days, (int, float)):
                raise InputError(f"query {query.name!r}: days must be a number, 'window' or 'retention'")
            examples = fleet.example_events if part.reads == "events" else [part.reads]
            share = len(examples) / len(fleet.example_events)
            per_row = sum(self._column_bytes(example, part.columns, query) for example in examples) / len(
                examples
            )
            read = per_day * days * share * per_row
            total += max(read, part.tables * self.prices["bigquery_on_demand_query"].minimum_bytes)
        return total

    def _column_bytes(self, example: str, columns: list[str], query: Query) -> float:
        if example not in self.sizes.columns:
            raise InputError(f"query {query.name!r} reads {example!r}, which is not an example event")
        sizes = self.sizes.columns[example]
        if unknown := [column for column in columns if column not in sizes]:
            raise InputError(f"query {query.name!r}: {example} has no column {', '.join(unknown)}")
        return sum(sizes[column] for column in columns)


def load_model() -> Model:
    inputs = load_inputs()
    return Model(inputs, load_prices(), load_log_volume(), measure_sizes(inputs.fleet.example_events))


# Settings that move the total ------------------------------------------------------------------
def variants(model: Model) -> list[tuple[str, Model]]:
    """The default combination with one setting changed at a time."""
    logs, functions = model.inputs.logs, model.inputs.functions
    route = functions["route"]
    granularity = model.prices.platform["run_billing_granularity"]
    return [
        ("as configured", model),
        ("request logs kept (exclude_successful_request_logs = false)",
         model.replace(logs=dataclasses.replace(logs, exclude_successful_request_logs=False))),
        ("LOG_LEVEL=DEBUG (a line per event in each function)", model.replace(logs=dataclasses.replace(logs, level="DEBUG"))),
        ("LOG_LEVEL=WARNING (no summaries)", model.replace(logs=dataclasses.replace(logs, level="WARNING"))),
        ("concurrency 1 in both functions",
         model.replace(functions={name: dataclasses.replace(f, concurrency=1) for name, f in functions.items()})),
        ("route 3x slower (BigQuery answering in about 100 ms)",
         model.replace(functions=functions | {"route": dataclasses.replace(route, latency_seconds=route.latency_seconds * 3)})),
        ("billing rounded to 1 ms instead of 100 ms",
         model.replace(platform={"run_billing_granularity": dataclasses.replace(granularity, value=0.001)})),
    ]  # fmt: skip


# The tables ----------------------------------------------------------------------------------
def usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if value >= 0.995 else f"${value:.3f}" if value >= 0.0095 else f"${value:.4f}"


def size(value: float) -> str:
    if value == 0:
        return "0"
    for unit, name in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB")):
        if value >= unit:
            return f"{value / unit:,.1f} {name}"
    return f"{value / 2**10:,.0f} KiB"


def _table(head: list[str], rows: list[list[str]], left: int = 1, right: int = 0) -> str:
    """A Markdown table: the first `left` columns aligned left, the next ones (or only `right`) right."""
    right = right or len(head) - left
    align = ["---"] * left + ["---:"] * right + ["---"] * (len(head) - left - right)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _fleet_head(model: Model, first: str) -> list[str]:
    return [first, *(f"{n:,} sensors" for n in model.fleet.sensors)]


def table_goals(model: Model) -> str:
    rows = []
    for goal in model.inputs.goals:
        combination = model.combination(goal.combination)
        worst = max(model.per_million(n, combination, goal.item) for n in goal.sensors)
        at = (
            "every fleet"
            if goal.sensors == model.fleet.sensors
            else ", ".join(f"{n:,}" for n in goal.sensors) + " sensors"
        )
        what = "per million events" if goal.item == "total" else f"{goal.item} per million events"
        rows.append([f"{goal.combination}, {what}, at {at}", usd(worst), f"≤ {usd(goal.at_most)}",
                     "met" if worst <= goal.at_most else "**not met**", goal.source])  # fmt: skip
    return _table(["goal", "modelled (highest)", "target", "", "from"], rows, right=2)


def table_combinations(model: Model) -> str:
    rows = []
    for combination in model.inputs.combinations:
        cells = [usd(model.per_million(n, combination)) for n in model.fleet.sensors]
        rows.append([f"{combination.connector} + `{combination.router}`", *cells])
    return _table(_fleet_head(model, "connector + router, per million events"), rows)


def table_fleets(model: Model) -> str:
    fleet, combination = model.fleet, model.inputs.combinations[0]
    bills = {n: model.items(n, combination) for n in fleet.sensors}
    rows = [
        ["events a month", *(f"{fleet.events_per_month(n):,.0f}" for n in fleet.sensors)],
        [
            "events a second",
            *(f"{fleet.events_per_month(n) / fleet.seconds_per_month:,.2f}" for n in fleet.sensors),
        ],
    ]
    for each in model.inputs.combinations:
        rows.append(
            [f"a month, {each.name}", *(usd(model.total(model.items(n, each))) for n in fleet.sensors)]
        )
    rows.append([f"a month after the free allotments, {combination.name}",
                 *(usd(model.total(bills[n], free=True)) for n in fleet.sensors)])  # fmt: skip
    return _table(_fleet_head(model, ""), rows)


def table_items(model: Model, combination: Combination) -> str:
    fleet = model.fleet
    bills = {n: model.items(n, combination) for n in fleet.sensors}
    rows = []
    for index, item in enumerate(bills[fleet.sensors[0]]):
        cells = [usd(model.cost(bills[n][index]) / fleet.events_per_month(n) * 1e6) for n in fleet.sensors]
        rows.append([item.name, *cells])
    rows.append(["**total**", *(f"**{usd(model.per_million(n, combination))}**" for n in fleet.sensors)])
    return _table(_fleet_head(model, f"{combination.name}, per million events"), rows)


def table_variants(model: Model) -> str:
    combination = model.inputs.combinations[0]
    rows = [[label, *(usd(varied.per_million(n, combination)) for n in model.fleet.sensors)]
            for label, varied in variants(model)]  # fmt: skip
    return _table(_fleet_head(model, f"{combination.name}, per million events"), rows)


def table_logs(model: Model) -> str:
    rows = []
    for name in ("ingest", "route"):
        cells = [size(model.log_bytes(n, name)) for n in model.fleet.sensors]
        rows.append([f"{name}: a month of log entries at {model.inputs.logs.level}", *cells])
    return _table(_fleet_head(model, ""), rows)


def table_queries(model: Model) -> str:
    price = model.prices["bigquery_on_demand_query"]
    rows = []
    for query in model.inputs.queries:
        cells = []
        for n in model.fleet.sensors:
            read = model.query_bytes(n, query)
            cells.append(f"{size(read)}, {usd(read / price.per * price.usd)}")
        rows.append([f"`{query.name}`: {query.note}", *cells])
    return _table(_fleet_head(model, "per run: bytes billed, cost"), rows)


def table_prices(model: Model) -> str:
    rows = []
    for key, price in model.prices.prices.items():
        per = _UNITS.get(int(price.per)) or f"{price.per:,.0f}"
        amount = f"{price.usd:.7f}".rstrip("0").rstrip(".") + ("" if price.per == 1 else f" per {per}")
        minimum = f"; at least {price.minimum_bytes:,.0f} bytes each" if price.minimum_bytes else ""
        free = size(price.free_per_month) if price.per in _UNITS else f"{price.free_per_month:,.0f}"
        rows.append([key, amount, price.unit + minimum, free, price.source, price.checked])
    for key, setting in model.prices.platform.items():
        rows.append([key, f"{setting.value:g}", setting.unit, "-", setting.source, setting.checked])
    return _table(["price", "USD", "unit", "free a month", "source", "read on"], rows, right=1)


def table_inputs(model: Model) -> str:
    inputs, sizes, volume = model.inputs, model.sizes, model.log_volume
    rows = []
    for name, function in inputs.functions.items():
        rows += [
            [f"{name} latency per event", f"{function.latency_seconds * 1000:g} ms", function.latency_source],
            [f"{name} CPU per event", f"{function.cpu_seconds_per_event * 1000:g} ms", function.cpu_source],
            [f"{name} vCPU / memory / concurrency",
             f"{function.vcpu:g} / {function.memory_gib:g} GiB / {function.concurrency}", "terraform/variables.tf defaults"],
        ]  # fmt: skip
    provenance = f"bench/log_volume.py on {volume.provenance.measured_on} (commit {volume.provenance.commit}): `{volume.provenance.command}`"  # fmt: skip
    for name in ("ingest", "route"):
        info, debug = volume.levels["info"][name], volume.levels["debug"][name]
        rows += [
            [f"{name} log: summary line / start-up line", f"{info.summary_line_bytes:g} / {info.start_up_line_bytes:g} bytes",
             f"{provenance}; {info.events} events of every DT type in {info.seconds:g} s, {info.summary_lines} summaries"],
            [f"{name} log: per-event line (DEBUG only)", f"{debug.per_event_line_bytes:g} bytes", provenance],
            [f"{name} log bytes per event in that run, INFO / DEBUG", f"{info.bytes_per_event:g} / {debug.bytes_per_event:g}",
             f"{provenance} (at INFO mostly the start-up line and two summaries, over a short run)"],
        ]  # fmt: skip
    examples = ",".join(inputs.fleet.example_events)
    logs = inputs.logs
    rows += [
        ["Pub/Sub message", f"{sizes.message_bytes:,.0f} bytes",
         f"mean of tests/data/events/{{{examples}}}.json, compact, with ingest's attributes"],
        ["BigQuery row", f"{sizes.row_bytes:,.0f} bytes", "the same events through functions/rows.py, as JSON"],
        ["log entry overhead / request log entry", f"{logs.entry_overhead_bytes:g} / {logs.request_entry_bytes:g} bytes", logs.source],
        ["summary interval", f"{logs.summary_seconds:g} s", "functions/logs.py, SUMMARY_SECONDS"],
        ["instance starts", f"{inputs.instances.starts_per_month:,.0f} a month per function", inputs.instances.source],
        ["views' window / rows kept", f"{inputs.views.window_days:g} / {inputs.views.retention_days:g} days",
         "issue 24 (views bounded to about 30 days); a year kept, for the queries over all rows"],
    ]  # fmt: skip
    for name, columns in sizes.columns.items():
        listed = ", ".join(f"{column} {value:g}" for column, value in columns.items() if value)
        rows.append([f"{name} row, bytes per column", "", f"logical sizes (STRING 2 + its bytes, numbers and TIMESTAMP 8, JSON its text): {listed}"])  # fmt: skip
    return _table(["input", "value", "source"], rows, right=1)


def tables(model: Model) -> dict[str, str]:
    """Each generated table of docs/cost.md, by its marker's name."""
    generated = {
        "goals": table_goals(model),
        "combinations": table_combinations(model),
        "fleets": table_fleets(model),
        "variants": table_variants(model),
        "logs": table_logs(model),
        "queries": table_queries(model),
        "prices": table_prices(model),
        "inputs": table_inputs(model),
    }
    for combination in model.inputs.combinations:
        key = f"items-{combination.connector.lower()}-{combination.router}".replace("_", "-")
        generated[key] = table_items(model, combination)
    return generated


_MARKER = re.compile(r"<!-- table:([a-z0-9-]+) -->\n.*?<!-- /table:\1 -->", re.S)


def with_tables(document: str, generated: dict[str, str]) -> str:
    """`document` with the text between each pair of markers replaced by its table."""
    found = _MARKER.findall(document)
    if missing := sorted(set(generated) - set(found)):
        raise InputError(f"docs/cost.md has no <!-- table:NAME --> markers for {', '.join(missing)}")
    if unknown := sorted(set(found) - set(generated)):
        raise InputError(
            f"docs/cost.md has markers for tables the model does not write: {', '.join(unknown)}"
        )
    return _MARKER.sub(
        lambda m: f"<!-- table:{m[1]} -->\n{generated[m[1]]}\n<!-- /table:{m[1]} -->", document
    )


def readme_summary(model: Model) -> str:
    """The README's few lines: the default combination's month and cost per million events, and the others'."""
    fleet, combination = model.fleet, model.inputs.combinations[0]
    lines = [
        f"List prices for sensors on DT's default {fleet.heartbeat_minutes:g}-minute heartbeat, {combination.name} "
        "(item by item, every connector and router, sources, dates and the settings that move it: "
        "[docs/cost.md](docs/cost.md)):",
        "",
        "| sensors | events a month | a month | per million events | a month after the free allotments |",
        "|---:|---:|---:|---:|---:|",
    ]
    for sensors in fleet.sensors:
        events, bill = fleet.events_per_month(sensors), model.items(sensors, combination)
        month, free = model.total(bill), model.total(bill, free=True)
        lines.append(
            f"| {sensors:,} | {events:,.0f} | {usd(month)} | {usd(month / events * 1e6)} | {usd(free)} |"
        )
    others = [
        f"{each.name} {usd(model.per_million(fleet.sensors[1], each))}"
        for each in model.inputs.combinations[1:]
    ]
    lines += [
        "",
        f"Per million events at {fleet.sensors[1]:,} sensors with the other connectors and routers:",
        "; ".join(others) + ".",
        "Small fleets pay mostly for Cloud Run instance time (a lone request is billed 100 ms); large ones",
        "for requests. Cloud Logging stays at cents: no line per successful event, and Cloud Run's",
        "request logs of 2xx answers are excluded ([Logs](#logs)).",
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
    try:
        model = load_model()
        text = with_tables(OUTPUT.read_text(), tables(model))
    except InputError as error:
        print(f"cost model: {error}", file=sys.stderr)
        return 2
    readme = with_readme_summary(README.read_text(), readme_summary(model))
    if args.check:
        if OUTPUT.read_text() != text or README.read_text() != readme:
            print(
                "docs/cost.md's tables or the README's cost lines are out of date: run .venv/bin/python -m scripts.cost_model",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text)
    README.write_text(readme)
    print(f"wrote the tables of {OUTPUT.relative_to(ROOT)} and the README's cost lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
