-- One row per event: DT delivers at least once and Pub/Sub redelivers, so `${table}_log`
-- may hold the same event_id more than once. Partitioning the window by `timestamp` too
-- (always equal for one event) lets BigQuery prune partitions through this view.
SELECT * FROM `${project}.${dataset}.${table}_log`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY timestamp, event_id ORDER BY ingested_at) = 1
