"""RFC 3339 timestamps as DT writes them (UTC, up to 9 fractional digits).

Only what BigQuery's TIMESTAMP can hold is accepted: the result must lie within years 1 to 9999
(UTC), and an offset must be one RFC 3339 allows (hours 00-23, minutes 00-59). Anything else is a
ValueError, never an OverflowError, so callers need one `except`. The JavaScript transform
(functions/transform/template.js, `parseMicros`) implements exactly these rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# ASCII digits only ([0-9], not \d, which matches other scripts' digits too); \Z, not $, which
# would accept a trailing newline.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|z|[+-][0-9]{2}:[0-9]{2})\Z"
)


def parse(value: object) -> datetime:
    """Parse an RFC 3339 timestamp to an aware UTC datetime, keeping microseconds.

    Digits past microseconds (DT's old nanosecond timestamps) are truncated, as BigQuery
    stores microseconds. Raises ValueError naming the value when it is not RFC 3339 or lies
    outside years 1 to 9999 once its offset is applied.
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
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{value!r} has an offset outside RFC 3339 (hours 00-23, minutes 00-59)")
        sign = 1 if zone[0] == "+" else -1
        try:
            moment -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            raise ValueError(f"{value!r} lies outside years 1 to 9999 in UTC") from None
    return moment


def to_rfc3339(value: datetime) -> str:
    """UTC with microseconds, as DT writes it and BigQuery, DT's API and Pub/Sub push take it
    (the year always four digits: strftime's %Y writes year 1 as "1")."""
    moment = value.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"


def to_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch: BigQuery's integer form of a TIMESTAMP."""
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
