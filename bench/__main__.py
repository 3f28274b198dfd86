"""./run bench [ingest|router|all]"""

import sys

from bench import ingest, router


def main(argv: list[str]) -> int:
    which = argv[0] if argv else "all"
    if which not in ("ingest", "router", "all"):
        print("usage: ./run bench [ingest|router|all]", file=sys.stderr)
        return 2
    if which in ("ingest", "all"):
        ingest.main()
    if which in ("router", "all"):
        router.main()
        router.bigquery_subscription_main()
    return 0


sys.exit(main(sys.argv[1:]))
