-- When each device was last heard from, and how long it has been silent: the view to
-- watch for devices that stopped reporting (e.g. WHERE silent_minutes > 60).
SELECT
  device_id,
  ANY_VALUE(project_id) AS project_id,
  ARRAY_AGG(device_name IGNORE NULLS ORDER BY timestamp DESC LIMIT 1)[SAFE_OFFSET(0)] AS device_name,
  ARRAY_AGG(device_type IGNORE NULLS ORDER BY timestamp DESC LIMIT 1)[SAFE_OFFSET(0)] AS device_type,
  MAX(timestamp) AS last_seen,
  TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), MAX(timestamp), MINUTE) AS silent_minutes,
  COUNT(*) AS events
FROM `${project}.${dataset}.events`
GROUP BY device_id
