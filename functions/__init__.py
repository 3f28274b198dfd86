"""DT → Pub/Sub → BigQuery: all logic of the `ingest` and `route` Cloud Functions."""
