-- The latest temperature of each device, with its name.
-- Bounded to the last 35 days, so it reads 35 daily partitions, not every day ever kept: a
-- temperature sensor reports at least every 15 minutes, so a reading older than a month is no
-- "latest" worth showing (device_last_seen tells which devices fell silent). For an older
-- reading, query `temperature` with your own time range.
SELECT device_id, device_name, device_description, timestamp, value AS celsius
FROM `${project}.${dataset}.temperature`
WHERE timestamp >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 35 DAY)
QUALIFY ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY timestamp DESC) = 1
