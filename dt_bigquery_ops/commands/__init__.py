"""One module per subcommand of `dt-bigquery-ops`, each with the shape dt_bigquery_ops/report/command.py
has: NAME, HELP, DESCRIPTION, `add_arguments(parser)` (its options, next to their checks in `run`),
`run(args, env) -> exit code`; USES_DT when it talks to DT's API. dt_bigquery_ops/cli.py wires them."""
