-- The latest temperature of each device, with its name.
SELECT device_id, device_name, device_description, timestamp, value AS celsius
FROM `${project}.${dataset}.temperature`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY timestamp DESC) = 1
