"""`dt-bigquery-ops` (or `./run ops`): operate the bridge: backfill after an outage, connector health, sync, enable,
and replay of dead letters. See docs/operations.md for the runbooks and `--help` for each command.

One module per command (`backfill`, `connectors`, `dead_letters`), the command line in `cli`,
and what they share in `options` (parsing), `google_cloud` (Pub/Sub and BigQuery) and `output`.
"""
