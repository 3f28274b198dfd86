"""Data Connector commands: health (status, delivery metrics, freshness of the tables), sync, enable."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from dt_bigquery_ops import output
from dt_bigquery_ops.dt_api import DtApi
from dt_bigquery_ops.errors import OpsError, UsageError

_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s$")

# (DT project, since) => per event type, the newest event of that DT project in BigQuery.
NewestRows = Callable[[str, datetime], list[dict[str, Any]]]


@dataclass(frozen=True)
class HealthRequest:
    project: str
    connector: str | None = None
    max_error_rate: float = 0.05
    dataset: str | None = None
    lookback: timedelta = timedelta(days=7)
    max_age: timedelta | None = None

    def __post_init__(self) -> None:
        if self.max_age is not None and self.dataset is None:
            # Without a dataset the data's age can't be read: refuse, rather than report HEALTHY.
            raise UsageError(
                "--max-age needs the BigQuery dataset to read the newest event from: pass --dataset "
                "<project>.<dataset> or set BIGQUERY_DATASET (and leave out --no-bigquery)"
            )


def _seconds(latency: Any) -> float | None:
    """DT's durations ("0.411s") in seconds."""
    match = _SECONDS.match(str(latency or "").strip())
    return float(match.group(1)) if match else None


def _connector_id(connector: dict[str, Any]) -> str:
    return str(connector.get("name", "")).rsplit("/", 1)[-1]


class ConnectorStatus(StrEnum):
    """A Data Connector's status, as DT's API names it."""

    ACTIVE = "ACTIVE"
    USER_DISABLED = "USER_DISABLED"  # a user switched it off
    SYSTEM_DISABLED = "SYSTEM_DISABLED"  # DT did, after 5 days of failed deliveries


def _status_problem(connector_id: str, status: str) -> str | None:
    if status == ConnectorStatus.ACTIVE:
        return None
    if status == ConnectorStatus.SYSTEM_DISABLED:
        return (
            f"connector {connector_id} is SYSTEM_DISABLED: DT disabled it after 5 days of failed "
            "deliveries and sends nothing until it is enabled; fix the endpoint, run `ops enable`, then "
            "`ops backfill` the gap (docs/operations.md)"
        )
    if status == ConnectorStatus.USER_DISABLED:
        return (
            f"connector {connector_id} is USER_DISABLED: a user switched it off; events are not sent and "
            "will not be re-sent (enable it, then backfill the gap)"
        )
    return f"connector {connector_id} has the status {status!r}"


def connector_health(
    api: DtApi, project: str, connector: dict[str, Any], max_error_rate: float
) -> dict[str, Any]:
    """One connector's status and last-3-hours metrics, with the problems they show."""
    connector_id = _connector_id(connector)
    status = str(connector.get("status", "UNKNOWN"))
    metrics = api.connector_metrics(project, connector_id)
    successes = int(metrics.get("successCount") or 0)
    errors = int(metrics.get("errorCount") or 0)
    error_rate = errors / (successes + errors) if successes + errors else 0.0
    problems = [problem for problem in [_status_problem(connector_id, status)] if problem]
    if error_rate > max_error_rate:
        problems.append(
            f"connector {connector_id}: {errors} of {successes + errors} deliveries failed in the last 3 hours "
            f"({error_rate:.1%}, above the threshold of {max_error_rate:.1%}); see the ingest function's logs"
        )
    configured = connector.get("httpConfig")
    http_config = configured if isinstance(configured, dict) else {}
    return {
        "name": connector.get("name"),
        "id": connector_id,
        "displayName": connector.get("displayName"),
        "status": status,
        "url": http_config.get("url"),
        "eventTypes": connector.get("events") or "all",
        "labels": connector.get("labels") or [],
        "metrics": {
            "successCount": successes,
            "errorCount": errors,
            "errorRate": round(error_rate, 6),
            "latency99p": metrics.get("latency99p"),
            "latency99pSeconds": _seconds(metrics.get("latency99p")),
        },
        "problems": problems,
    }


def check_health(api: DtApi, request: HealthRequest, newest_rows: NewestRows | None) -> dict[str, Any]:
    """The health report: connectors, metrics, newest rows per event type, and the problems found."""
    now = datetime.now(UTC)
    if request.connector:
        connectors = [api.get_connector(request.project, request.connector)]
    else:
        connectors = api.list_connectors(request.project)
    reports = [connector_health(api, request.project, c, request.max_error_rate) for c in connectors]
    problems = [problem for report in reports for problem in report["problems"]]
    if not connectors:
        problems.append(f"the DT project {request.project} has no Data Connector")
    freshness = None
    if newest_rows is not None:
        since = now - request.lookback
        freshness = [
            {
                "eventType": row["event_type"],
                "newestEvent": row["newest_event"],
                "lastWritten": row["last_written"],
                "events": row["events"],
                "ageMinutes": round((now - row["newest_event"]).total_seconds() / 60, 1),
            }
            for row in newest_rows(request.project, since)
        ]
        if request.max_age is not None:
            newest = max((row["newestEvent"] for row in freshness), default=None)
            if newest is None or now - newest > request.max_age:
                seen = (
                    "no event" if newest is None else f"the newest event is from {newest:%Y-%m-%d %H:%M:%SZ}"
                )
                problems.append(
                    f"{request.dataset}, DT project {request.project}: {seen}, older than --max-age "
                    f"{request.max_age} (looked back {request.lookback})"
                )
    return {
        "project": request.project,
        "checkedAt": now,
        "healthy": not problems,
        "problems": problems,
        "connectors": reports,
        "dataset": request.dataset,
        "maxErrorRate": request.max_error_rate,
        "newestRows": freshness,
    }


def print_health_result(report: dict[str, Any]) -> None:
    for connector in report["connectors"]:
        metrics = connector["metrics"]
        latency = metrics["latency99pSeconds"]
        print(f"Data Connector {connector['name']} ({connector['displayName']})")
        print(f"  status        {connector['status']}")
        print(
            f"  last 3 hours  {metrics['successCount']} delivered, {metrics['errorCount']} failed "
            f"(error rate {metrics['errorRate']:.1%}), p99 latency "
            + ("-" if latency is None else f"{latency:g} s")
        )
        print(f"  endpoint      {connector['url'] or '-'}")
    if report["newestRows"] is not None:
        print(
            f"\nNewest events of DT project {report['project']} in BigQuery {report['dataset']}, per event type:"
        )
        rows = [
            [row["eventType"], row["newestEvent"], row["lastWritten"], row["events"], row["ageMinutes"]]
            for row in report["newestRows"]
        ]
        if rows:
            output.table(["event type", "newest event", "last written", "events", "age (min)"], rows)
        else:
            print("  none in the lookback window")
    print()
    if report["healthy"]:
        print("HEALTHY")
    else:
        print("UNHEALTHY")
        for problem in report["problems"]:
            print(f"  - {problem}")


def sync(api: DtApi, project: str, connector: str) -> dict[str, Any]:
    """Ask DT to push the latest event of each type of every device; the connector must be ACTIVE."""
    status = str(api.get_connector(project, connector).get("status", "UNKNOWN"))
    if status != ConnectorStatus.ACTIVE:
        raise OpsError(
            f"the connector {connector} is {status}: DT pushes nothing through it. Enable it first "
            "(`ops enable`), then sync"
        )
    api.sync_connector(project, connector)
    return {"project": project, "connector": connector, "status": status, "syncRequested": True}


def enable(api: DtApi, project: str, connector: str) -> dict[str, Any]:
    """Set the connector ACTIVE (DT forwards new events from now on; the gap needs a backfill)."""
    before = str(api.get_connector(project, connector).get("status", "UNKNOWN"))
    after, enabled_at = before, None
    if before != ConnectorStatus.ACTIVE:
        enabled_at = datetime.now(UTC)
        after = str(
            api.set_connector_status(project, connector, ConnectorStatus.ACTIVE).get(
                "status", ConnectorStatus.ACTIVE
            )
        )
    return {
        "project": project,
        "connector": connector,
        "statusBefore": before,
        "status": after,
        "enabledAt": enabled_at,
    }
