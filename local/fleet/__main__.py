"""`python -m local.fleet`: the fleet's command line (local/fleet/cli.py)."""

import sys

from local.fleet.cli import main

sys.exit(main())
