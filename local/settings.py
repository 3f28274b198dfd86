"""How the local command lines read a setting, once: its flag, else its environment variable,
else its default. The variable is declared next to the flag, as functions-framework declares
`--port` with `envvar="PORT"`, and the help says both."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any


def add_setting(
    parser: argparse.ArgumentParser,
    flag: str,
    variable: str,
    default: Any,
    env: Mapping[str, str],
    help: str,
    type: Callable[[str], Any] = str,
) -> None:
    """`flag`, whose default is `env[variable]` when set, else `default` (an environment value is
    converted and checked by argparse as a flag's would be)."""
    shown = "none" if default is None else default
    parser.add_argument(
        flag,
        type=type,
        default=env.get(variable, default),
        help=f"{help} (default: ${variable}, else {shown})",
    )
