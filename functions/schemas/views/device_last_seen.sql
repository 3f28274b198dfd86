-- When each device was last heard from, and how long it has been silent: the view to
-- watch for devices that stopped reporting (e.g. WHERE silent_minutes > 60).
-- Bounded to the last 35 days (events of that window, counted in `events`): a full scan of
-- every day ever kept is never wanted here, and every DT sensor sends at least a heartbeat
-- (networkStatus) within minutes to hours, so a device silent for 35 days is one to
-- decommission, not to watch. 35 days covers a calendar month with a few days' margin for a
-- monthly check run late. For older history, query `events` with your own time range.
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
  WHERE timestamp >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 35 DAY)
)
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY timestamp DESC) = 1
