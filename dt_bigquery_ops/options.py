"""Parsing and checking the command line's values: times, durations, DT and Google resource names.

Each parser raises UsageError with a message that shows an accepted example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from dt_bigquery_ops.deployed import config, timestamps
from dt_bigquery_ops.errors import UsageError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_PROJECT_NAME = re.compile(r"^projects/([A-Za-z0-9_-]{1,128})$")
# DT's API and Terraform's connector_names print `dataConnectors`; DT's URLs say `dataconnectors`.
_CONNECTOR_NAME = re.compile(r"^projects/([A-Za-z0-9_-]{1,128})/(?i:dataconnectors)/([A-Za-z0-9_-]{1,128})$")


def duration(text: str) -> timedelta:
    """`90s`, `15m`, `36h`, `5d`, `2w`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{text!r} is not a duration; use e.g. 90s, 15m, 36h, 5d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def moment(text: str, now: datetime | None = None) -> datetime:
    """An RFC 3339 time, a UTC date, `now`, or a duration back from now (`5d` = five days ago)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    if text == "now":
        return now
    if _DATE.match(text):
        try:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise UsageError(f"{text!r} is not a valid date") from None
    if _DURATION.match(text):
        return now - duration(text)
    try:
        return timestamps.parse(text)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time; use e.g. 2025-03-11T08:00:00Z, 2025-03-11 (UTC midnight), "
            "now, or 5d (five days ago)"
        ) from None


def window(since: str, until: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or datetime.now(UTC)
    start = moment(since, now)
    end = moment(until, now) if until else now
    if start >= end:
        raise UsageError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})")
    return start, end


def dt_project(text: str) -> str:
    """A DT project id, given bare or as `projects/<id>`."""
    text = text.strip()
    name = _PROJECT_NAME.match(text)
    if name:
        return name.group(1)
    if _DT_ID.match(text):
        return text
    raise UsageError(f"{text!r} is not a DT project; use its id or projects/<id>")


def dt_connector(text: str, project: str) -> str:
    """A Data Connector id, given bare or as `projects/<p>/dataConnectors/<id>` (of `project`)."""
    text = text.strip()
    name = _CONNECTOR_NAME.match(text)
    if name:
        if name.group(1) != project:
            raise UsageError(f"the connector {text} is not in the project {project}")
        return name.group(2)
    if _DT_ID.match(text):
        return text
    raise UsageError(
        f"{text!r} is not a Data Connector; use its id or projects/<p>/dataConnectors/<id> "
        "(as Terraform's connector_names output prints it)"
    )


def word_list(values: list[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one list: `--types a,b --types c`."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _setting(value: str | None, env: Mapping[str, str], name: str) -> str:
    return (value or env.get(name, "")).strip()


def topic(value: str | None, env: Mapping[str, str], option: str = "--topic") -> str:
    text = _setting(value, env, "PUBSUB_TOPIC")
    if not text:
        raise UsageError(f"no Pub/Sub topic: pass {option} projects/<p>/topics/<t> or set PUBSUB_TOPIC")
    if not config.TOPIC_PATTERN.match(text):
        raise UsageError(f"{text!r} is not a Pub/Sub topic; expected projects/<p>/topics/<t>")
    return text


def subscription(value: str | None, env: Mapping[str, str]) -> str:
    text = _setting(value, env, "DEAD_LETTER_SUBSCRIPTION")
    if not text:
        raise UsageError(
            "no subscription: pass --subscription projects/<p>/subscriptions/<s> "
            "or set DEAD_LETTER_SUBSCRIPTION"
        )
    if not config.SUBSCRIPTION_PATTERN.match(text):
        raise UsageError(f"{text!r} is not a Pub/Sub subscription; expected projects/<p>/subscriptions/<s>")
    return text


def dataset(value: str | None, env: Mapping[str, str], required: bool) -> str | None:
    text = _setting(value, env, "BIGQUERY_DATASET")
    if not text:
        if required:
            raise UsageError(
                "no BigQuery dataset: pass --dataset <project>.<dataset> or set BIGQUERY_DATASET"
            )
        return None
    if not config.DATASET_PATTERN.match(text):
        raise UsageError(
            f"{text!r} is not a BigQuery dataset; expected <project>.<dataset>, e.g. my-project.dt"
        )
    return text
