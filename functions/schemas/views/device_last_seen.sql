-- When each device was last heard from, and how long it has been silent: the view to
-- watch for devices that stopped reporting (e.g. WHERE silent_minutes > 60).
SELECT
  device_id,
  project_id,
  device_name,
  device_type,
  timestamp AS last_seen,
  event_type AS last_event_type,
  TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), timestamp, MINUTE) AS silent_minutes,
  events
FROM (
  SELECT *, COUNT(*) OVER (PARTITION BY device_id) AS events
  FROM `${project}.${dataset}.events`
)
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY timestamp DESC) = 1
