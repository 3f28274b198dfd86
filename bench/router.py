"""Placeholder replaced below."""


def main() -> None:
    raise SystemExit("router benchmark: not written yet")
