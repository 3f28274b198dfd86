-- Hourly temperature per device: average, minimum and maximum of every sample (2nd-gen
-- sensors send several samples per event; older events count their single value).
-- Bounded to the events of the last 35 days (a calendar month with a few days' margin, for
-- dashboards and monthly reports), so it never scans every day ever kept. For older hours,
-- run the same query on `temperature` with your own range on `timestamp`.
SELECT
  device_id,
  ANY_VALUE(device_name) AS device_name,
  TIMESTAMP_TRUNC(COALESCE(sample.sample_time, t.timestamp), HOUR) AS hour,
  AVG(COALESCE(sample.value, t.value)) AS avg_celsius,
  MIN(COALESCE(sample.value, t.value)) AS min_celsius,
  MAX(COALESCE(sample.value, t.value)) AS max_celsius,
  COUNT(*) AS samples
FROM `${project}.${dataset}.temperature` AS t
LEFT JOIN UNNEST(t.samples) AS sample
WHERE t.timestamp >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 35 DAY)
GROUP BY device_id, hour
