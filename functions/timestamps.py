"""RFC 3339 timestamps as DT writes them (UTC, up to 9 fractional digits)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)


def parse(value: object) -> datetime:
    """Parse an RFC 3339 timestamp to an aware UTC datetime, keeping microseconds.

    Digits past microseconds (DT's old nanosecond timestamps) are truncated, as BigQuery
    stores microseconds. Raises ValueError naming the value when it is not RFC 3339.
    """
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a valid date and time: {error}") from None
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return moment


def to_rfc3339(value: datetime) -> str:
    """UTC with microseconds, as DT writes it and BigQuery, DT's API and Pub/Sub push take it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
