# Plans the module with mocked providers (no cloud, no DT account): checks the values that wire
# the pieces together, for both connector types and several DT projects. Every variable
# validation has its own run in validations.tftest.hcl. Run by scripts/terraform_check.sh and
# tests/terraform, which install schema-only stand-ins for the providers first.

mock_provider "google" {
  override_during = plan
  source          = "./tests/mocks"
}

mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

# The single-project configuration of before dt_project_ids: it keeps working.
variables {
  project_id    = "my-project"
  dt_project_id = "c0md3mm0c7pet3c1vddg"
  # Alerts that notify someone: without a channel, the check alerts_reach_someone fails the plan
  # (a warning outside terraform test). Runs about alerts without channels set [] and expect it.
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "tables_and_views_follow_the_schema_files" {
  command = plan

  assert {
    condition = (
      google_bigquery_table.events_log.table_id == "events_log"
      && google_bigquery_table.events_log.time_partitioning[0].type == "DAY"
      && google_bigquery_table.events_log.time_partitioning[0].field == "timestamp"
      && google_bigquery_table.events_log.clustering == tolist(["event_type", "device_id"])
      && google_bigquery_table.events_log.deletion_protection
    )
    error_message = "events_log must be day-partitioned on timestamp, clustered by event_type and device_id, protected."
  }
  assert {
    condition = (
      slice(jsondecode(google_bigquery_table.events_log.schema), 0, length(jsondecode(file("${path.module}/../functions/schemas/common.json")))) == jsondecode(file("${path.module}/../functions/schemas/common.json"))
      && [
        for column in slice(jsondecode(google_bigquery_table.events_log.schema), length(jsondecode(file("${path.module}/../functions/schemas/common.json"))), length(jsondecode(google_bigquery_table.events_log.schema))) :
        [column.name, column.type, column.mode, column.fields]
        ] == [
        for table in concat(sort([for f in fileset("${path.module}/../functions/schemas/events", "*.json") : trimsuffix(f, ".json")]), ["unknown_events"]) :
        [table, "RECORD", "NULLABLE", jsondecode(file(table == "unknown_events" ? "${path.module}/../functions/schemas/unknown_events.json" : "${path.module}/../functions/schemas/events/${table}.json"))]
      ]
    )
    error_message = "events_log's schema must be common.json, then one nullable record per schema file (unknown_events last) holding that file's columns."
  }
  assert {
    condition = length(google_bigquery_table.typed_view) == length(fileset("${path.module}/../functions/schemas/events", "*.json")) + 1 && alltrue([
      for table, resource in google_bigquery_table.typed_view :
      resource.table_id == table && !resource.view[0].use_legacy_sql && strcontains(resource.view[0].query, "`my-project.dt.events_log`")
      && strcontains(resource.view[0].query, "QUALIFY ROW_NUMBER() OVER (PARTITION BY timestamp, event_id ORDER BY ingested_at) = 1")
    ])
    error_message = "Every table needs a standard-SQL view named after it that deduplicates events_log."
  }
  assert {
    condition = (
      strcontains(google_bigquery_table.typed_view["temperature"].view[0].query, "WHERE event_type = 'temperature'")
      && strcontains(google_bigquery_table.typed_view["object_present_count"].view[0].query, "WHERE event_type = 'objectPresentCount'")
      && strcontains(google_bigquery_table.typed_view["temperature"].view[0].query, "temperature.samples AS samples")
      && strcontains(google_bigquery_table.typed_view["unknown_events"].view[0].query, "WHERE event_type NOT IN ('batteryStatus', ")
      && strcontains(google_bigquery_table.typed_view["unknown_events"].view[0].query, "unknown_events.data AS data")
    )
    error_message = "A typed view selects its DT event type (unknown_events: every type not in the catalogue) and flattens its record."
  }
  assert {
    condition     = length(google_bigquery_table.view) + length(google_bigquery_table.derived_view) == length(fileset("${path.module}/../functions/schemas/views", "*.sql")) - 1
    error_message = "Every views/*.sql but typed.sql must be one view."
  }
  assert {
    condition     = !strcontains(google_bigquery_table.view["events"].view[0].query, "UNION") && strcontains(google_bigquery_table.view["events"].view[0].query, "FROM `my-project.dt.events_log`")
    error_message = "events must be one deduplicating scan of events_log, not a union of views."
  }
  assert {
    condition = alltrue([
      for view in ["temperature_latest", "temperature_hourly"] :
      strcontains(google_bigquery_table.view[view].view[0].query, "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 35 DAY)")
    ]) && strcontains(google_bigquery_table.derived_view["device_last_seen"].view[0].query, "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 35 DAY)")
    error_message = "device_last_seen, temperature_latest and temperature_hourly read the last 35 days only."
  }
  assert {
    condition     = google_bigquery_table.dead_letters.time_partitioning[0].field == "publish_time" && [for column in jsondecode(google_bigquery_table.dead_letters.schema) : column.name] == ["data", "attributes", "message_id", "publish_time", "subscription_name"]
    error_message = "dead_letters holds what a BigQuery subscription writes with write_metadata and no schema, partitioned on publish_time."
  }
}

run "functions_get_the_environment_the_code_reads" {
  command = plan

  assert {
    condition = google_cloudfunctions2_function.ingest[0].service_config[0].environment_variables == tomap({
      PUBSUB_TOPIC      = "projects/my-project/topics/mocked"
      LOG_LEVEL         = "INFO"
      FUNCTION_USE_ASGI = "true"
      DT_PROJECT_IDS    = "c0md3mm0c7pet3c1vddg"
    })
    error_message = "ingest must get PUBSUB_TOPIC (the topic's full path), LOG_LEVEL, FUNCTION_USE_ASGI (served on the ASGI server) and DT_PROJECT_IDS (the configured DT projects), and no DT_ORGANIZATION_ID unless set."
  }
  assert {
    condition = [for s in google_cloudfunctions2_function.ingest[0].service_config[0].secret_environment_variables : [s.key, s.secret, s.version]] == [
      ["DT_SIGNATURE_SECRET", "dt-bq-signature-secret", "7"],
    ]
    error_message = "ingest must read DT_SIGNATURE_SECRET from Secret Manager, and nothing else by default."
  }
  assert {
    condition = google_cloudfunctions2_function.route[0].service_config[0].environment_variables == tomap({
      BIGQUERY_DATASET  = "my-project.dt"
      DEAD_LETTER_TOPIC = "projects/my-project/topics/mocked"
      LOG_LEVEL         = "INFO"
      THREADS           = "40"
      FUNCTION_USE_ASGI = "true"
    })
    error_message = "route must get BIGQUERY_DATASET as <project>.<dataset>, DEAD_LETTER_TOPIC, LOG_LEVEL, THREADS = its concurrency and FUNCTION_USE_ASGI (served on the ASGI server)."
  }
  assert {
    condition     = google_cloudfunctions2_function.ingest[0].build_config[0].entry_point == "ingest" && google_cloudfunctions2_function.route[0].build_config[0].entry_point == "route"
    error_message = "Entry points must be main.py's ingest and route."
  }
  assert {
    condition     = google_cloudfunctions2_function.route[0].service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY" && google_cloudfunctions2_function.ingest[0].service_config[0].ingress_settings == "ALLOW_ALL"
    error_message = "ingest is public, route internal by default."
  }
}

run "pubsub_feeds_the_router_with_retries_and_dead_letters" {
  command = plan

  assert {
    condition     = google_pubsub_subscription.route[0].push_config[0].push_endpoint == "https://mocked-uc.a.run.app/projects/my-project/topics/mocked"
    error_message = "The push endpoint must be the route function's URL followed by the topic's path."
  }
  assert {
    condition     = google_pubsub_subscription.route[0].push_config[0].oidc_token[0].service_account_email == google_service_account.push[0].email
    error_message = "Pub/Sub must push as the push identity."
  }
  assert {
    condition     = google_pubsub_subscription.route[0].ack_deadline_seconds >= google_cloudfunctions2_function.route[0].service_config[0].timeout_seconds
    error_message = "The ack deadline must not be shorter than the route function's timeout."
  }
  assert {
    condition     = google_pubsub_subscription.route[0].dead_letter_policy[0].max_delivery_attempts == 100 && google_pubsub_subscription.route[0].dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letter.id
    error_message = "After 100 attempts (hours of retries) a message must go to the dead-letter topic."
  }
  assert {
    condition     = google_pubsub_subscription.route[0].retry_policy[0].minimum_backoff == "10s" && google_pubsub_subscription.route[0].expiration_policy[0].ttl == ""
    error_message = "The route subscription must back off and never expire."
  }
  assert {
    condition     = google_pubsub_subscription.dead_letter.topic == google_pubsub_topic.dead_letter.id && google_pubsub_subscription.dead_letter.retain_acked_messages
    error_message = "Dead letters must be kept on a subscription of their own."
  }
}

run "the_connector_pushes_to_the_ingest_function" {
  command = plan

  assert {
    condition     = dt_data_connector.bigquery["c0md3mm0c7pet3c1vddg"].type == "HTTP_PUSH" && dt_data_connector.bigquery["c0md3mm0c7pet3c1vddg"].project == "projects/c0md3mm0c7pet3c1vddg"
    error_message = "The connector must be an HTTP push connector of the DT project."
  }
  assert {
    condition     = dt_data_connector.bigquery["c0md3mm0c7pet3c1vddg"].http_config.url == google_cloudfunctions2_function.ingest[0].url
    error_message = "The connector must push to the ingest function."
  }
  assert {
    condition     = dt_data_connector.bigquery["c0md3mm0c7pet3c1vddg"].labels == tolist(["name", "description"]) && length(dt_data_connector.bigquery["c0md3mm0c7pet3c1vddg"].events) == 0
    error_message = "By default the connector forwards all event types and the name and description labels."
  }
}

run "rotation_keeps_the_previous_secret_accepted" {
  command = plan

  variables {
    signature_secret_generation      = 3
    accept_previous_signature_secret = true
    dt_organization_id               = "c0md3mm0c7pet3c1vdd0"
  }

  assert {
    condition     = toset(keys(random_password.signature_secret)) == toset(["2", "3"])
    error_message = "During a rotation both generations must exist."
  }
  assert {
    condition = toset([for s in google_cloudfunctions2_function.ingest[0].service_config[0].secret_environment_variables : s.key]) == toset([
      "DT_SIGNATURE_SECRET", "DT_SIGNATURE_SECRET_PREVIOUS",
    ])
    error_message = "During a rotation ingest must accept the previous secret too."
  }
  assert {
    condition     = google_cloudfunctions2_function.ingest[0].service_config[0].environment_variables["DT_ORGANIZATION_ID"] == "c0md3mm0c7pet3c1vdd0"
    error_message = "dt_organization_id must reach the ingest function."
  }
}

run "rejects_concurrency_without_a_whole_cpu" {
  command = plan
  variables {
    route_cpu = "0.5"
  }
  expect_failures = [google_cloudfunctions2_function.route]
}

run "alerts_watch_ingest_errors_dead_letters_and_silence" {
  command = plan

  variables {
    notification_channels = ["projects/my-project/notificationChannels/1234567890"]
    runbook_url           = "https://example.com/dt-bigquery/docs/operations.md"
  }

  assert {
    condition = alltrue([
      for policies in [google_monitoring_alert_policy.ingest_5xx, google_monitoring_alert_policy.ingest_4xx, google_monitoring_alert_policy.dead_letters, google_monitoring_alert_policy.no_events] :
      length(policies) == 1 && policies[0].combiner == "OR" && length(policies[0].conditions) == 1
    ])
    error_message = "With enable_alerts (the default), each of the four alert policies must exist, with one condition."
  }
  assert {
    condition = alltrue([
      for policies in [google_monitoring_alert_policy.ingest_5xx, google_monitoring_alert_policy.ingest_4xx, google_monitoring_alert_policy.dead_letters, google_monitoring_alert_policy.no_events] :
      policies[0].notification_channels == tolist(["projects/my-project/notificationChannels/1234567890"])
    ])
    error_message = "Every alert policy must notify the given notification channels."
  }
  assert {
    condition = alltrue([
      for fragment in [
        "resource.type = \"cloud_run_revision\"",
        "resource.label.location = \"europe-west1\"",
        "resource.label.service_name = \"dt-bq-ingest\"",
        "metric.type = \"run.googleapis.com/request_count\"",
        "metric.label.response_code_class = \"5xx\"",
      ] : strcontains(google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].filter, fragment)
    ])
    error_message = "The ingest alert must count the ingest function's Cloud Run requests answered 5xx."
  }
  assert {
    condition = (
      google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].denominator_filter == "resource.type = \"cloud_run_revision\" AND resource.label.project_id = \"my-project\" AND resource.label.location = \"europe-west1\" AND resource.label.service_name = \"dt-bq-ingest\" AND metric.type = \"run.googleapis.com/request_count\""
      && google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].aggregations == google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].denominator_aggregations
      && google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].aggregations[0].per_series_aligner == "ALIGN_RATE"
      && google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT"
      && google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].threshold_value == 0.05
      && google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].duration == "300s"
    )
    error_message = "The ingest alert must compare the share of 5xx answers among all the ingest function's requests (aggregated alike) with 0.05 for 300 s."
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].filter, "resource.label.subscription_id = \"dt-bq-dead-letter\"")
      && strcontains(google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].filter, "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"")
      && google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT"
      && google_monitoring_alert_policy.dead_letters[0].conditions[0].condition_threshold[0].threshold_value == 0
    )
    error_message = "The dead-letter alert must fire on any undelivered message in the dead-letter subscription."
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.no_events[0].conditions[0].condition_absent[0].filter, "resource.label.topic_id = \"dt-bq-events\"")
      && strcontains(google_monitoring_alert_policy.no_events[0].conditions[0].condition_absent[0].filter, "metric.type = \"pubsub.googleapis.com/topic/send_request_count\"")
      && google_monitoring_alert_policy.no_events[0].conditions[0].condition_absent[0].duration == "3600s"
      && google_monitoring_alert_policy.no_events[0].conditions[0].condition_absent[0].aggregations[0].cross_series_reducer == "REDUCE_SUM"
    )
    error_message = "The no-events alert must watch for an hour without a successful publish to the events topic, over all its series at once."
  }
  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.dead_letters[0].documentation[0].content, "(https://example.com/dt-bigquery/docs/operations.md#runbook-events-in-the-dead-letter-topic)")
      && strcontains(google_monitoring_alert_policy.no_events[0].documentation[0].content, "(https://example.com/dt-bigquery/docs/operations.md#runbook-the-connector-was-disabled)")
      && google_monitoring_alert_policy.ingest_5xx[0].documentation[0].links[0].url == "https://example.com/dt-bigquery/docs/operations.md#runbook-the-connector-was-disabled"
    )
    error_message = "The alerts' documentation must link to their runbooks in docs/operations.md."
  }
  assert {
    condition     = toset(keys(output.alert_policies)) == toset(["ingest_5xx", "ingest_4xx", "dead_letters", "no_events", "subscription_backlog"])
    error_message = "alert_policies must name each alert's policy."
  }
}

run "alerts_can_be_turned_off" {
  command = plan

  variables {
    enable_alerts = false
  }

  assert {
    condition     = length(google_monitoring_alert_policy.ingest_5xx) + length(google_monitoring_alert_policy.ingest_4xx) + length(google_monitoring_alert_policy.dead_letters) + length(google_monitoring_alert_policy.no_events) + length(google_monitoring_alert_policy.subscription_backlog) + length(google_project_service.monitoring) == 0
    error_message = "With enable_alerts = false, no alert policy (and no Monitoring API switch) may be created."
  }
  assert {
    condition     = length(output.alert_policies) == 0
    error_message = "With enable_alerts = false, alert_policies must be empty."
  }
}

run "alerts_without_channels_or_runbook_url" {
  command = plan

  variables {
    notification_channels             = []
    alert_ingest_5xx_ratio            = 0.2
    alert_ingest_5xx_duration_seconds = 600
    alert_no_events_duration_seconds  = 7200
  }

  # Alerts that notify no one: the plan warns.
  expect_failures = [check.alerts_reach_someone]

  assert {
    condition = alltrue([
      for policies in [google_monitoring_alert_policy.ingest_5xx, google_monitoring_alert_policy.ingest_4xx, google_monitoring_alert_policy.dead_letters, google_monitoring_alert_policy.no_events] :
      length(policies[0].notification_channels) == 0 && length(policies[0].documentation[0].links) == 0
      && strcontains(policies[0].documentation[0].content, "docs/operations.md, \"")
    ])
    error_message = "Without channels the policies notify no one; without runbook_url their documentation names the runbooks without links."
  }
  assert {
    condition = (
      google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].threshold_value == 0.2
      && google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].duration == "600s"
      && google_monitoring_alert_policy.no_events[0].conditions[0].condition_absent[0].duration == "7200s"
    )
    error_message = "The thresholds and durations must be the variables'."
  }
}
