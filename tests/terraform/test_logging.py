"""The request-log exclusion's filter (terraform/logging.tf), as Terraform plans it, run against
log entries like those Cloud Logging receives: it matches the 2xx request logs of this
deployment's services and nothing else (their errors, their own logs, other services, other
regions and projects are kept)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

# The Logging query language, the part the filter uses: comparisons joined by AND and OR, with
# parentheses (https://cloud.google.com/logging/docs/view/logging-query-language).
_TOKEN = re.compile(
    r'\s*(?:(\()|(\))|(AND|OR)\b|([A-Za-z_][\w.]*)\s*(>=|<=|!=|=|<|>)\s*("(?:[^"\\]|\\.)*"|-?\d+))'
)


def _tokens(text: str) -> list[tuple[str, Any]]:
    found, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        assert match, f"not in the subset this test reads: {text[position:]!r}"
        opening, closing, joiner, field, operator, value = match.groups()
        if opening or closing:
            found.append(("paren", opening or closing))
        elif joiner:
            found.append(("joiner", joiner))
        else:
            found.append(("comparison", (field, operator, json.loads(value))))
        position = match.end()
    return found


def matches(text: str, entry: dict[str, Any]) -> bool:
    """Whether the log entry `entry` matches the filter `text` (AND binds tighter than OR)."""
    tokens = _tokens(text)

    def field_of(path: str) -> Any:
        value: Any = entry
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def comparison(field: str, operator: str, expected: Any) -> bool:
        value = field_of(field)
        if value is None:
            return False
        if operator == "=":
            return value == expected
        if operator == "!=":
            return value != expected
        return {
            ">=": value >= expected,
            "<=": value <= expected,
            "<": value < expected,
            ">": value > expected,
        }[operator]

    def primary(index: int) -> tuple[bool, int]:
        kind, value = tokens[index]
        if kind == "paren" and value == "(":
            result, index = disjunction(index + 1)
            assert tokens[index] == ("paren", ")")
            return result, index + 1
        assert kind == "comparison", tokens[index]
        return comparison(*value), index + 1

    def joined(joiner: str, operand: Callable[[int], tuple[bool, int]]) -> Callable[[int], tuple[bool, int]]:
        """Operands separated by `joiner`: all must hold (AND) or one (OR)."""

        def parse(index: int) -> tuple[bool, int]:
            results = []
            result, index = operand(index)
            results.append(result)
            while index < len(tokens) and tokens[index] == ("joiner", joiner):
                result, index = operand(index + 1)
                results.append(result)
            return (all(results) if joiner == "AND" else any(results)), index

        return parse

    def disjunction(index: int) -> tuple[bool, int]:
        return joined("OR", joined("AND", primary))(index)

    result, end = disjunction(0)
    assert end == len(tokens)
    return result


def entry(service: str, status: int | None, log: str = "requests", region: str = "europe-west1",
          project: str = "my-project") -> dict[str, Any]:  # fmt: skip
    """A Cloud Run log entry: a request log (with httpRequest) or a line of the container's."""
    found: dict[str, Any] = {
        "logName": f"projects/{project}/logs/run.googleapis.com%2F{log}",
        "resource": {
            "type": "cloud_run_revision",
            "labels": {
                "project_id": project,
                "service_name": service,
                "location": region,
                "revision_name": f"{service}-00001-abc",
                "configuration_name": service,
            },
        },
        "severity": "INFO" if status is None or status < 400 else "ERROR",
    }
    if status is not None:
        found["httpRequest"] = {"requestMethod": "POST", "status": status, "responseSize": "120"}
    return found


@pytest.fixture(scope="module")
def planned_filters(offline_check, workspace) -> dict[str, list[str]]:
    """Each run of logging.tftest.hcl: the filters of the exclusions it plans."""
    result = offline_check.terraform(
        workspace, "test", "-no-color", "-verbose", "-filter=tests/logging.tftest.hcl"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs: dict[str, list[str]] = {}
    current = ""
    in_exclusion = False
    for line in result.stdout.splitlines():
        if started := re.match(r'\s*run "([^"]+)"\.\.\. pass', line):
            current, runs[started.group(1)] = started.group(1), []
        elif "google_logging_project_exclusion" in line and "resource" in line:
            in_exclusion = True
        elif in_exclusion and (found := re.match(r"\s*\+ filter\s+= (\".*\")$", line)):
            runs[current].append(json.loads(found.group(1)))
            in_exclusion = False
    return runs


def test_the_default_filter_matches_only_the_successful_request_logs_of_both_services(planned_filters):
    (text,) = planned_filters["successful_request_logs_of_both_services_are_excluded_by_default"]
    excluded = [entry("dt-bq-ingest", 200), entry("dt-bq-route", 204), entry("dt-bq-ingest", 299)]
    kept = [
        entry("dt-bq-ingest", 401),  # refused: kept
        entry("dt-bq-ingest", 503),  # failed: kept
        entry("dt-bq-route", 500),
        entry("dt-bq-route", 302),
        entry("dt-bq-ingest", 199),
        entry("dt-bq-ingest", None, log="stdout"),  # the function's own lines
        entry("dt-bq-route", None, log="stderr"),
        entry("dt-bq-ingest", 200, log="varlog%2Fsystem"),
        entry("billing-api", 200),  # another service of the project
        entry("dt-bq-ingest-v2", 200),
        entry("dt-bq-ingest", 200, region="us-central1"),  # a same-named service elsewhere
        entry("dt-bq-ingest", 200, project="other-project"),
    ]
    assert [matches(text, found) for found in excluded] == [True] * len(excluded)
    assert [matches(text, found) for found in kept] == [False] * len(kept)


def test_without_the_ingest_function_only_route_is_named(planned_filters):
    (text,) = planned_filters["no_ingest_no_ingest_in_the_filter"]
    assert matches(text, entry("acme-route", 200, region="us-central1"))
    assert not matches(text, entry("acme-ingest", 200, region="us-central1"))
    assert not matches(text, entry("acme-route", 404, region="us-central1"))


def test_turned_off_no_exclusion_is_planned(planned_filters):
    assert planned_filters["turned_off_no_exclusion"] == []
