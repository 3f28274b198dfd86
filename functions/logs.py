"""Structured JSON logs on stdout, one object per line, as Cloud Logging reads them.

Only the fields passed explicitly are logged: never headers, tokens or secrets.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger = logging.getLogger("dt_bigquery")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"severity": record.levelname, "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    """Send this package's logs to stdout as JSON; safe to call more than once."""
    if not _logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_JsonFormatter())
        _logger.addHandler(handler)
        _logger.propagate = False
    _logger.setLevel(level.upper())


def log(severity: str, message: str, **fields: Any) -> None:
    """Log `message` at `severity` (DEBUG, INFO, WARNING, ERROR) with extra JSON fields."""
    _logger.log(logging.getLevelName(severity), message, extra={"fields": fields})


def log_exception(message: str, **fields: Any) -> None:
    """Log an unexpected exception with its traceback, at ERROR."""
    _logger.error(message, exc_info=True, extra={"fields": fields})
