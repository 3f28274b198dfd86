"""`python -m local.fleet`: the fleet's command line."""

import sys

from local.fleet import main

sys.exit(main())
