from tools.ops.cli import main

raise SystemExit(main())
