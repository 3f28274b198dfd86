"""The deployed modules the operator CLI shares with the functions (event parsing, timestamps,
publishing, the BigQuery client, the setting patterns), imported here and only here.

In a checkout they are the repository's `functions/`, the very modules main.py deploys. Installed
(`pip install .`), they ship inside this package as `dt_bigquery_ops._functions` (pyproject.toml's
package-dir; functions/ imports itself relatively, so it works under either name): the CLI puts no
top-level `functions` into an operator's environment, a generic name another distribution could
claim. Either way one process sees one copy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

SHIPPED = "dt_bigquery_ops._functions"

if TYPE_CHECKING:
    from functions import bigquery_writer, catalogue, config, envelope, errors, publishing, timestamps
else:
    try:
        _package = importlib.import_module(SHIPPED).__name__
    except ModuleNotFoundError as missing:
        if missing.name != SHIPPED:
            raise
        _package = "functions"
    bigquery_writer, catalogue, config, envelope, errors, publishing, timestamps = (
        importlib.import_module(f"{_package}.{name}")
        for name in (
            "bigquery_writer",
            "catalogue",
            "config",
            "envelope",
            "errors",
            "publishing",
            "timestamps",
        )
    )

__all__ = ["bigquery_writer", "catalogue", "config", "envelope", "errors", "publishing", "timestamps"]
