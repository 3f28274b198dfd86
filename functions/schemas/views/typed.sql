-- One row per event of one type: the columns every event has, then the type's own columns
-- (its record in events_log, flattened). DT delivers at least once and Pub/Sub redelivers, so
-- events_log may hold the same event_id more than once. Partitioning the window by `timestamp`
-- too (always equal for one event) lets BigQuery prune partitions through this view: a filter
-- on `timestamp` reads only those days. Rendered once per table of the catalogue
-- (local/bigquery_setup.py, terraform/bigquery.tf).
SELECT
  ${columns}
FROM `${project}.${dataset}.events_log`
WHERE ${condition}
QUALIFY ROW_NUMBER() OVER (PARTITION BY timestamp, event_id ORDER BY ingested_at) = 1
