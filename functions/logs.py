"""Structured JSON logs on stdout, one object per line, as Cloud Logging reads them.

Only the fields passed explicitly are logged: never headers, tokens or secrets.

What an operator acts on is logged as it happens (failures, dead letters, configuration,
start-up). The success path is not: every event is already in BigQuery with its trail, and a
line per event would cost more than the rest of the pipeline (docs/cost.md). Each instance
counts it instead in a `Summary`, logged every `SUMMARY_SECONDS` while something happens.
Refusals of requests from the internet are counted there too, and only the first few of each
interval are logged one by one, so a flood of junk cannot buy log volume.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

_logger = logging.getLogger("dt_bigquery")

SUMMARY_SECONDS = 60.0
# Refusals logged one by one per kind in each interval; the rest are only counted.
LOGGED_PER_INTERVAL = 10
# Latencies kept per interval for the percentiles (a uniform sample beyond that: bounded memory).
LATENCY_SAMPLES = 4096


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


def debug_enabled() -> bool:
    """Whether per-event lines are wanted (LOG_LEVEL=DEBUG): callers skip building them otherwise."""
    return _logger.isEnabledFor(logging.DEBUG)


def log_exception(message: str, **fields: Any) -> None:
    """Log an unexpected exception with its traceback, at ERROR."""
    _logger.error(message, exc_info=True, extra={"fields": fields})


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of `samples` (seconds), in milliseconds rounded to 0.1 ms."""
    ordered = sorted(samples)
    last = len(ordered) - 1
    points = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "max": 1.0}
    return {name: round(ordered[round(share * last)] * 1000, 1) for name, share in points.items()}


class Summary:
    """One instance's outcomes since its last summary line: counts per outcome and key, latency.

    Thread-safe (route runs in a pool of threads) and cheap (a lock, a counter, a list append).
    No timer thread: on request-based billing an instance's CPU is throttled between requests,
    and a thread waking it would bill idle time. The line is written by the first call after the
    interval, and at exit or SIGTERM (uvicorn ends by re-raising SIGTERM with its default action,
    so ingest never reaches the interpreter's exit); an interval in which nothing happened writes
    nothing. The first call of an instance writes one at once, so each new instance shows it is
    alive and working.
    """

    def __init__(
        self,
        function: str,
        interval_seconds: float = SUMMARY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function = function
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._lock = threading.RLock()  # re-entrant: the SIGTERM handler may interrupt count()
        self._due = clock()
        self._reset(clock())
        atexit.register(self.flush)
        _flush_on_sigterm(self.flush)

    def _reset(self, now: float) -> None:
        self._since = now
        self._counts: dict[str, Counter[str]] = {}
        self._individually: Counter[str] = Counter()
        self._latencies: list[float] = []
        self._timed = 0

    def count(self, outcome: str, key: str, latency_seconds: float | None = None) -> None:
        """Count one `outcome` (e.g. "written") for `key` (e.g. its table); flush when due."""
        with self._lock:
            self._counts.setdefault(outcome, Counter())[key] += 1
            if latency_seconds is not None:
                self._timed += 1
                if len(self._latencies) < LATENCY_SAMPLES:
                    self._latencies.append(latency_seconds)
                else:  # reservoir sampling: every latency of the interval equally likely kept
                    slot = random.randrange(self._timed)
                    if slot < LATENCY_SAMPLES:
                        self._latencies[slot] = latency_seconds
            due = self._clock() >= self._due
        if due:
            self.flush()

    def log_individually(self, kind: str) -> bool:
        """Whether this occurrence of `kind` gets its own line: the first LOGGED_PER_INTERVAL do."""
        with self._lock:
            self._individually[kind] += 1
            return self._individually[kind] <= LOGGED_PER_INTERVAL

    def flush(self) -> None:
        """Log the summary of what happened since the last one, if anything did; start a new one."""
        with self._lock:
            now = self._clock()
            self._due = now + self.interval_seconds
            if not self._counts:
                return
            counts, individually, latencies = self._counts, self._individually, self._latencies
            since = self._since
            self._reset(now)
        fields: dict[str, Any] = {"summaryOf": self.function, "intervalSeconds": round(now - since, 1)}
        fields |= {outcome: dict(keys) for outcome, keys in sorted(counts.items())}
        if latencies:
            fields["latencyMs"] = percentiles(latencies)
        not_logged = {
            kind: n - LOGGED_PER_INTERVAL for kind, n in individually.items() if n > LOGGED_PER_INTERVAL
        }
        if not_logged:
            fields["notLoggedIndividually"] = not_logged
        # Shown at WARNING too when it stands for lines that were not written one by one.
        log("WARNING" if not_logged else "INFO", f"{self.function} summary", **fields)


def _flush_on_sigterm(flush: Callable[[], None]) -> None:
    """Call `flush` on SIGTERM, then whatever handled SIGTERM before (the server's graceful stop)."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set signal handlers
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(number: int, frame: Any) -> None:
        with contextlib.suppress(Exception):  # a log line must never stand in the way of a clean stop
            flush()
        if callable(previous):
            previous(number, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(number, signal.SIG_DFL)
            signal.raise_signal(number)

    signal.signal(signal.SIGTERM, on_sigterm)
