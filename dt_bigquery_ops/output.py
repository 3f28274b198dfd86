"""What the operations tool prints: tables and JSON on stdout, progress lines on stderr."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], stream: TextIO | None = None) -> None:
    """Print `format_table(headers, rows)`."""
    print(format_table(headers, rows), file=stream or sys.stdout)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain, aligned text table (numbers right-aligned)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    numeric = [
        bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(list(headers)), *(line(row) for row in cells)])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def moment(value: datetime) -> str:
    """A UTC time for people: 2025-03-11T08:15:03Z (microseconds only when there are some)."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").removesuffix(".000000")
    return text + "Z"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return moment(value.replace(microsecond=0))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """`--progress`/`--no-progress`: progress on stderr, by default when stderr is a terminal."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: when stderr is a terminal)",
    )


class Progress:
    """One progress line per device on stderr: a bar over the device's time window.

    Drawn in place on a terminal; with `--progress` on a pipe, one line per update (at most
    one a second per device). Silent otherwise.
    """

    WIDTH = 24

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self.enabled = self._tty if enabled is None else enabled
        self._last_line = 0.0
        self._open = False

    def update(self, label: str, fraction: float, detail: str, done: bool = False) -> None:
        if not self.enabled:
            return
        fraction = 1.0 if done else min(max(fraction, 0.0), 1.0)
        filled = round(fraction * self.WIDTH)
        text = f"{label}  [{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%}  {detail}"
        if self._tty:
            self._stream.write("\r\x1b[K" + text + ("\n" if done else ""))
            self._stream.flush()
            self._open = not done
        elif done or time.monotonic() - self._last_line >= 1.0:
            self._last_line = time.monotonic()
            print(text, file=self._stream, flush=True)

    def finish(self) -> None:
        """End a line left open by an interrupted device, so that what follows starts clean."""
        if self._open:
            self._stream.write("\n")
            self._open = False
