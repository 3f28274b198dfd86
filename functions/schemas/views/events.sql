-- Every event of every type, one row per event, with the columns all types share: one
-- deduplicating scan of events_log (see typed.sql for why the window is partitioned by
-- `timestamp` as well: a filter on it prunes partitions through this view).
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at
FROM `${project}.${dataset}.events_log`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY timestamp, event_id ORDER BY ingested_at) = 1
