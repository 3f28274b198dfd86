"""Where things are in the repository, for the tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DT_DATA = ROOT / "tests" / "data" / "dt"  # real DT requests; see its README for where each comes from
EVENT_EXAMPLES = ROOT / "tests" / "data" / "events"
OPS_CLI = ROOT / ".venv-ops" / "bin" / "dt-bigquery-ops"  # installed by ./run setup, as an operator would
