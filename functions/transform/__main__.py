"""python -m functions.transform [--check]: write functions/transform/dt_event_to_row.js, or with
--check exit 1 when the committed file differs from what the generator writes."""

from __future__ import annotations

import sys

from . import UDF_FILE, render


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = UDF_FILE.read_text() if UDF_FILE.exists() else ""
        if current != text:
            print(f"{UDF_FILE} is not what `python -m functions.transform` writes: run it", file=sys.stderr)
            return 1
        return 0
    UDF_FILE.write_text(text)
    print(f"wrote {UDF_FILE} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
