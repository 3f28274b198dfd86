from dt_bigquery_ops.cli import main

raise SystemExit(main())
