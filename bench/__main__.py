"""./run bench [ingest|router|logs|all]"""

import sys

from bench import ingest, log_volume, router


def main(argv: list[str]) -> int:
    which = argv[0] if argv else "all"
    if which not in ("ingest", "router", "logs", "all"):
        print("usage: ./run bench [ingest|router|logs|all]", file=sys.stderr)
        return 2
    if which in ("ingest", "all"):
        ingest.main()
    if which in ("router", "all"):
        router.main()
        router.bigquery_subscription_main()
    if which in ("logs", "all"):
        log_volume.main([])
    return 0


sys.exit(main(sys.argv[1:]))
