"""The cost model's inputs (scripts/cost/*.toml) as checked dataclasses.

Each TOML table is loaded into its dataclass by `checked`, which names the file, the table and
the key that is missing, unknown or of the wrong type, so a typo in an input is an error, not a
silently different bill.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "scripts" / "cost" / "prices.toml"
INPUTS = ROOT / "scripts" / "cost" / "inputs.toml"
LOG_VOLUME = ROOT / "scripts" / "cost" / "log_volume.toml"
SECONDS_PER_DAY = 86_400


class InputError(Exception):
    """An input file misses a key, has one the model does not know, or a value of the wrong type."""


# Inputs as checked dataclasses ------------------------------------------------------------------
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "float": (int, float), "int": (int,), "bool": (bool,),
    "list[int]": (list,), "list[str]": (list,), "float | str": (int, float, str),
}  # fmt: skip
T = TypeVar("T")


def checked(cls: type[T], table: Any, where: str) -> T:
    """`table` as a `cls`, or an InputError naming the key that is missing, unknown or mistyped."""
    if not isinstance(table, dict):
        raise InputError(f"{where} must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    required = [
        name for name, f in known.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]  # fmt: skip
    if missing := [name for name in required if name not in table]:
        raise InputError(f"{where} has no {', '.join(missing)} (needed by scripts/cost_model.py)")
    if unknown := sorted(set(table) - set(known)):
        raise InputError(f"{where} has unknown key(s) {', '.join(unknown)}")
    values = {}
    for name, value in table.items():
        expected = _TYPES.get(str(known[name].type))
        if expected is not None and (
            not isinstance(value, expected) or isinstance(value, bool) != (bool in expected)
        ):
            raise InputError(f"{where}.{name} = {value!r} is not a {known[name].type}")
        values[name] = value
    return cls(**values)


@dataclass(frozen=True)
class Price:
    usd: float
    per: float
    unit: str
    source: str
    checked: str
    free_per_month: float = 0
    minimum_bytes: float = 0


@dataclass(frozen=True)
class Platform:
    value: float
    unit: str
    source: str
    checked: str


@dataclass(frozen=True)
class Prices:
    prices: dict[str, Price]
    platform: dict[str, Platform]

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]


@dataclass(frozen=True)
class Fleet:
    sensors: list[int]
    heartbeat_minutes: float
    events_per_heartbeat: int
    example_events: list[str]
    days_per_month: int
    source: str

    @property
    def seconds_per_month(self) -> float:
        return self.days_per_month * SECONDS_PER_DAY

    def events_per_month(self, sensors: int) -> float:
        heartbeats = self.seconds_per_month / (self.heartbeat_minutes * 60)
        return sensors * self.events_per_heartbeat * heartbeats


@dataclass(frozen=True)
class Combination:
    connector: str
    router: str

    @property
    def name(self) -> str:
        return f"{self.connector} + {self.router}"

    def functions(self) -> list[str]:
        """The functions it runs: ingest for HTTP_PUSH, route for the function router."""
        return (["ingest"] if self.connector == "HTTP_PUSH" else []) + (
            ["route"] if self.router == "function" else []
        )


@dataclass(frozen=True)
class Function:
    latency_seconds: float
    latency_source: str
    cpu_seconds_per_event: float
    cpu_source: str
    vcpu: float
    memory_gib: float
    concurrency: int


@dataclass(frozen=True)
class Instances:
    starts_per_month: float
    source: str


@dataclass(frozen=True)
class Logs:
    level: str
    summary_seconds: float
    entry_overhead_bytes: float
    exclude_successful_request_logs: bool
    request_entry_bytes: float
    source: str


@dataclass(frozen=True)
class Secrets:
    active_versions: int
    source: str


@dataclass(frozen=True)
class Views:
    window_days: float
    retention_days: float


@dataclass(frozen=True)
class QueryPart:
    reads: str
    columns: list[str]
    days: float | str  # a number, "window" (the views' window) or "retention" (all rows kept)
    tables: int  # tables the query references: BigQuery bills at least 10 MB for each


@dataclass(frozen=True)
class Query:
    name: str
    note: str
    parts: list[QueryPart]


@dataclass(frozen=True)
class Goal:
    combination: str
    item: str  # "total" or an item's name
    sensors: list[int]
    at_most: float
    source: str


@dataclass(frozen=True)
class Inputs:
    fleet: Fleet
    combinations: list[Combination]
    functions: dict[str, Function]
    instances: Instances
    logs: Logs
    secrets: Secrets
    views: Views
    queries: list[Query]
    goals: list[Goal]


@dataclass(frozen=True)
class LogLines:
    """One function's log lines at one level, as bench/log_volume.py measured them."""

    events: int
    seconds: float
    bytes_per_event: float
    per_event_lines: int
    per_event_line_bytes: float
    summary_lines: int
    summary_line_bytes: float
    start_up_lines: int
    start_up_line_bytes: float
    other_lines: int


@dataclass(frozen=True)
class Provenance:
    measured_on: str
    commit: str
    command: str
    machine: str


@dataclass(frozen=True)
class LogVolume:
    provenance: Provenance
    levels: dict[str, dict[str, LogLines]]  # "info" / "debug" -> function -> lines


def _read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def _tables(document: dict[str, Any], key: str, where: str) -> Any:
    if key not in document:
        raise InputError(f"{where} has no [{key}]")
    return document[key]


def load_prices(path: Path = PRICES) -> Prices:
    document, where = _read(path), path.name
    return Prices(
        {key: checked(Price, value, f"{where} [prices.{key}]") for key, value in _tables(document, "prices", where).items()},
        {key: checked(Platform, value, f"{where} [platform.{key}]") for key, value in _tables(document, "platform", where).items()},
    )  # fmt: skip


def load_inputs(path: Path = INPUTS) -> Inputs:
    document, where = _read(path), path.name

    def query(index: int, table: dict[str, Any]) -> Query:
        name = f"{where} [[queries]] #{index + 1}"
        parts = [
            checked(QueryPart, part, f"{name} part {n + 1}") for n, part in enumerate(table.get("parts", []))
        ]
        return checked(Query, table | {"parts": parts}, name)

    return Inputs(
        fleet=checked(Fleet, _tables(document, "fleet", where), f"{where} [fleet]"),
        combinations=[checked(Combination, c, f"{where} [[combinations]]") for c in _tables(document, "combinations", where)],
        functions={name: checked(Function, f, f"{where} [functions.{name}]") for name, f in _tables(document, "functions", where).items()},
        instances=checked(Instances, _tables(document, "instances", where), f"{where} [instances]"),
        logs=checked(Logs, _tables(document, "logs", where), f"{where} [logs]"),
        secrets=checked(Secrets, _tables(document, "secrets", where), f"{where} [secrets]"),
        views=checked(Views, _tables(document, "views", where), f"{where} [views]"),
        queries=[query(index, table) for index, table in enumerate(_tables(document, "queries", where))],
        goals=[checked(Goal, goal, f"{where} [[goals]]") for goal in _tables(document, "goals", where)],
    )  # fmt: skip


def load_log_volume(path: Path = LOG_VOLUME) -> LogVolume:
    document, where = _read(path), path.name
    levels = {
        level: {
            name: checked(LogLines, lines, f"{where} [{level}.{name}]") for name, lines in functions.items()
        }
        for level, functions in document.items()
        if level != "provenance"
    }
    for level in ("info", "debug"):
        if level not in levels:
            raise InputError(f"{where} has no [{level}.*]: run .venv/bin/python -m bench.log_volume")
    return LogVolume(
        checked(Provenance, _tables(document, "provenance", where), f"{where} [provenance]"), levels
    )
