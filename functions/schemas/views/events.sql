-- Every event of every type, one row per event, with the columns all tables share.
-- Lists every table of the catalogue (a test checks that none is missing).
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.battery_status`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.cellular_status`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.co2`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.connection_status`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.contact`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.desk_occupancy`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.ethernet_status`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.humidity`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.labels_changed`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.motion`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.network_status`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.object_present`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.object_present_count`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.pressure`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.probe_wire_status`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.temperature`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.touch`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.touch_count`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.water_present`
UNION ALL
SELECT event_id, event_type, device_id, project_id, timestamp, device_type, product_number, device_name, device_description, labels, raw, source, published_at, ingested_at FROM `${project}.${dataset}.unknown_events`
