"""What the report reads from BigQuery: the dataset's views, over one time window.

Every query reads the views (one row per event), never `events_log`, and aggregates in
BigQuery, so that the charts get a few thousand points whatever the fleet's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import bigquery

from dt_bigquery_ops.errors import OpsError

Rows = list[dict[str, Any]]

# Bucket widths for the time series: the first that gives at most about _POINTS points per device.
_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
_POINTS = 400


@dataclass(frozen=True)
class Measure:
    """A numeric reading charted per device: its view, column and, for 2nd-gen sensors, sample column."""

    key: str
    title: str
    unit: str
    view: str
    column: str
    sample_column: str | None = None


MEASURES = (
    Measure("temperature", "Temperature per device", "°C", "temperature", "value", "value"),
    Measure("humidity", "Relative humidity per device", "% RH", "humidity", "relative_humidity", "relative_humidity"),
    Measure("co2", "CO2 per device", "ppm", "co2", "ppm"),
)  # fmt: skip


@dataclass
class Series:
    """One measure's points per device, averaged per bucket, and what they were made of."""

    measure: Measure
    bucket_seconds: int
    points: Rows
    devices: int
    events: int
    samples: int


@dataclass
class ReportData:
    dataset: str
    start: datetime
    end: datetime
    overview: dict[str, Any]
    series: list[Series] = field(default_factory=list)
    events_per_hour: Rows = field(default_factory=list)
    silent_devices: Rows = field(default_factory=list)


def bucket_seconds(start: datetime, end: datetime) -> int:
    """The narrowest bucket that keeps a device's series to about _POINTS points."""
    seconds = (end - start).total_seconds()
    return next((bucket for bucket in _BUCKETS if seconds / bucket <= _POINTS), _BUCKETS[-1])


class DatasetReader:
    """Runs the report's queries against one dataset, naming each step through `step`."""

    def __init__(
        self,
        client: bigquery.Client,
        dataset: str,
        where: str,
        step: Callable[[str], None] = lambda _: None,
        timeout_seconds: float = 120.0,
    ) -> None:
        self.client = client
        self.dataset = dataset
        self.where = where  # for messages: the endpoint or "BigQuery"
        self.step = step
        self.timeout = timeout_seconds

    def _table(self, name: str) -> str:
        # `dataset` was checked against <project>.<dataset> (options.dataset); values are parameters.
        return f"`{self.dataset}.{name}`"

    def _query(self, sql: str, **values: Any) -> Rows:
        parameters = [_parameter(name, value) for name, value in values.items()]
        config = bigquery.QueryJobConfig(query_parameters=parameters)
        try:
            job = self.client.query(sql, job_config=config, timeout=self.timeout)
            return [dict(row.items()) for row in job.result(timeout=self.timeout)]
        except google_exceptions.GoogleAPIError as error:
            raise OpsError(
                f"BigQuery query failed on {self.dataset}: {type(error).__name__}: {error}"
            ) from None

    def check_reachable(self) -> None:
        """Fail fast, with what to check, when the dataset is missing or BigQuery can't be reached."""
        self.step("connecting to BigQuery")
        retry = bigquery.DEFAULT_RETRY.with_deadline(6)
        try:
            self.client.get_dataset(self.dataset, timeout=10, retry=retry)
        except google_exceptions.NotFound:
            raise OpsError(
                f"the dataset {self.dataset} does not exist at {self.where}: check --dataset "
                "(<project>.<dataset>, as `terraform output` names it) or that `terraform apply` ran"
            ) from None
        except google_exceptions.Forbidden as error:
            raise OpsError(
                f"no access to {self.dataset}: {error.message}. The report needs BigQuery Data Viewer "
                "on the dataset and BigQuery Job User on the project"
            ) from None
        except auth_exceptions.GoogleAuthError as error:
            raise OpsError(
                f"no Google credentials for BigQuery ({error}); run `gcloud auth application-default login`"
            ) from None
        except (google_exceptions.GoogleAPIError, OSError) as error:  # requests' errors are OSErrors
            raise OpsError(
                f"BigQuery is unreachable at {self.where}: {type(error).__name__}: {error}"
            ) from None

    def overview(self, start: datetime, end: datetime) -> dict[str, Any]:
        self.step("counting events")
        [row] = self._query(
            "SELECT COUNT(*) AS events, COUNT(DISTINCT device_id) AS devices, "  # noqa: S608
            f"MIN(timestamp) AS first_event, MAX(timestamp) AS newest_event FROM {self._table('events')} "
            "WHERE timestamp >= @start AND timestamp < @end",
            start=start,
            end=end,
        )
        return row

    def total_events(self) -> int:
        [row] = self._query(f"SELECT COUNT(*) AS events FROM {self._table('events')}")  # noqa: S608
        return int(row["events"])

    def series(self, measure: Measure, start: datetime, end: datetime, max_devices: int) -> Series:
        """The busiest `max_devices` devices' readings, every 2nd-gen sample included."""
        self.step(f"{measure.key} per device")
        bucket = bucket_seconds(start, end)
        view = self._table(measure.view)
        if measure.sample_column:
            joined = f"{view} AS t LEFT JOIN UNNEST(t.samples) AS sample"
            moment = "COALESCE(sample.sample_time, t.timestamp)"
            value = f"COALESCE(sample.{measure.sample_column}, t.{measure.column})"
            samples = "COUNT(sample.sample_time)"
        else:
            joined, moment, value, samples = f"{view} AS t", "t.timestamp", f"t.{measure.column}", "0"
        sql = (
            "SELECT t.device_id, ANY_VALUE(COALESCE(t.device_name, t.device_id)) AS device, "  # noqa: S608
            f"TIMESTAMP_SECONDS(DIV(UNIX_SECONDS({moment}), @bucket) * @bucket) AS time, "
            f"AVG({value}) AS value, COUNT(DISTINCT t.event_id) AS events, {samples} AS samples "
            f"FROM {joined} "
            "WHERE t.timestamp >= @start AND t.timestamp < @end AND t.device_id IN ("
            f"  SELECT device_id FROM {view} WHERE timestamp >= @start AND timestamp < @end"
            "  GROUP BY device_id ORDER BY COUNT(*) DESC, device_id LIMIT @devices) "
            f"AND {value} IS NOT NULL "
            "GROUP BY t.device_id, time ORDER BY time, t.device_id"
        )
        rows = self._query(sql, bucket=bucket, start=start, end=end, devices=max_devices)
        # One name per device across buckets (a rename inside the window keeps the first seen).
        names: dict[str, str] = {}
        for row in rows:
            row["device"] = names.setdefault(row["device_id"], row["device"])
        return Series(
            measure=measure,
            bucket_seconds=bucket,
            points=rows,
            devices=len(names),
            events=sum(int(row["events"]) for row in rows),
            samples=sum(int(row["samples"]) for row in rows),
        )

    def events_per_hour(self, start: datetime, end: datetime) -> Rows:
        self.step("events per type per hour")
        return self._query(
            "SELECT TIMESTAMP_TRUNC(timestamp, HOUR) AS hour, event_type, COUNT(*) AS events "  # noqa: S608
            f"FROM {self._table('events')} WHERE timestamp >= @start AND timestamp < @end "
            "GROUP BY hour, event_type ORDER BY hour, event_type",
            start=start,
            end=end,
        )

    def silent_devices(self, limit: int) -> Rows:
        self.step("devices silent the longest")
        return self._query(
            "SELECT device_id, COALESCE(device_name, device_id) AS device, device_type, last_seen, "  # noqa: S608
            f"last_event_type, silent_minutes FROM {self._table('device_last_seen')} "
            "ORDER BY silent_minutes DESC, device_id LIMIT @limit",
            limit=limit,
        )


def _parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter:
    if isinstance(value, datetime):
        return bigquery.ScalarQueryParameter(name, "TIMESTAMP", value)
    if isinstance(value, int):
        return bigquery.ScalarQueryParameter(name, "INT64", value)
    return bigquery.ScalarQueryParameter(name, "STRING", str(value))


def read_dataset(
    reader: DatasetReader, start: datetime, end: datetime, max_devices: int = 8, silent_limit: int = 12
) -> ReportData:
    """Everything the BigQuery charts need; OpsError when the dataset is unreachable or empty."""
    reader.check_reachable()
    overview = reader.overview(start, end)
    if not overview["events"]:
        total = reader.total_events()
        if total:
            raise OpsError(
                f"no events in {reader.dataset} between {start:%Y-%m-%d %H:%M}Z and {end:%Y-%m-%d %H:%M}Z "
                f"(it holds {total:,} events in all): widen the window with --since"
            )
        raise OpsError(
            f"the dataset {reader.dataset} has no events yet: is the Data Connector sending? "
            "(`./run ops health` shows its status)"
        )
    data = ReportData(reader.dataset, start, end, overview)
    for measure in MEASURES:
        series = reader.series(measure, start, end, max_devices)
        if series.points:
            data.series.append(series)
    data.events_per_hour = reader.events_per_hour(start, end)
    data.silent_devices = reader.silent_devices(silent_limit)
    return data
