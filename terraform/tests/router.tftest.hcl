# The two routers (var.router) with both connector types, planned with mocked providers:
# function (the route function behind a push subscription, the default) and bigquery_subscription
# (a BigQuery subscription with the generated JavaScript transform, no route function). Both write
# events_log, and both archive dead letters into dead_letters. tests/terraform/test_router.py
# plants mistakes in a copy of the module (a subscription without dead letters, a transform that
# is not the generated file, the route function left behind) and checks that these runs catch them.

mock_provider "google" {
  override_during = plan
  source          = "./tests/mocks"
}

mock_provider "google-beta" {
  override_during = plan

  mock_resource "google_project_service_identity" {
    defaults = {
      member = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    }
  }
}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id    = "my-project"
  dt_project_id = "c0md3mm0c7pet3c1vddg"
  # Alerts that notify someone: without a channel, the check alerts_reach_someone fails the plan
  # (a warning outside terraform test).
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "the_function_router_is_the_default" {
  command = plan

  assert {
    condition = (
      length(google_cloudfunctions2_function.route) == 1 && length(google_pubsub_subscription.route) == 1
      && length(google_service_account.route) == 1 && length(google_service_account.push) == 1
      && length(google_pubsub_subscription.bigquery) == 0
      && output.bigquery_subscription == null && output.route_subscription == google_pubsub_subscription.route[0].id
    )
    error_message = "By default the route function, behind its push subscription, is the router, and there is no BigQuery subscription on the events topic."
  }
  assert {
    condition = (
      google_bigquery_table_iam_member.route_writes_rows[0].table_id == google_bigquery_table.events_log.table_id
      && google_bigquery_table_iam_member.route_writes_rows[0].dataset_id == google_bigquery_dataset.events.dataset_id
      && google_bigquery_table_iam_member.route_writes_rows[0].role == "roles/bigquery.dataEditor"
      && google_bigquery_table_iam_member.route_writes_rows[0].member == google_service_account.route[0].member
      && length(google_bigquery_table_iam_member.pubsub_agent_writes_events) == 0
    )
    error_message = "The route function may write events_log, that table only; Pub/Sub's agent may not write it."
  }
  assert {
    condition = (
      google_pubsub_subscription.dead_letter_archive.topic == google_pubsub_topic.dead_letter.id
      && google_pubsub_subscription.dead_letter_archive.bigquery_config[0].table == "my-project.dt.dead_letters"
      && google_pubsub_subscription.dead_letter_archive.bigquery_config[0].write_metadata
      && google_pubsub_subscription.dead_letter_archive.bigquery_config[0].use_table_schema == false
      && google_pubsub_subscription.dead_letter_archive.expiration_policy[0].ttl == ""
      && google_bigquery_table_iam_member.pubsub_agent_writes_dead_letters.table_id == google_bigquery_table.dead_letters.table_id
      && google_bigquery_table_iam_member.pubsub_agent_writes_dead_letters.member == google_project_service_identity.pubsub.member
    )
    error_message = "Every dead letter must be written to dead_letters (with its metadata columns), by Pub/Sub's agent, with the function router too."
  }
  assert {
    condition = (
      google_pubsub_subscription.dead_letter.topic == google_pubsub_topic.dead_letter.id && google_pubsub_subscription.dead_letter.retain_acked_messages
    )
    error_message = "The dead-letter pull subscription that ops replay-dead-letters reads must stay."
  }
  assert {
    condition = (
      length(google_monitoring_alert_policy.subscription_backlog[0].conditions) == 1
      && strcontains(google_monitoring_alert_policy.subscription_backlog[0].conditions[0].condition_threshold[0].filter, "resource.label.subscription_id = \"dt-bq-dead-letter-archive\"")
      && strcontains(google_monitoring_alert_policy.subscription_backlog[0].conditions[0].condition_threshold[0].filter, "metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\"")
      && google_monitoring_alert_policy.subscription_backlog[0].conditions[0].condition_threshold[0].threshold_value == 1800
    )
    error_message = "The backlog alert must watch the age of the dead-letter archive's oldest message (30 min by default)."
  }
}

run "the_subscription_router_runs_no_route_function" {
  command = plan

  variables {
    router                = "bigquery_subscription"
    max_delivery_attempts = 7
  }

  assert {
    condition = (
      length(google_cloudfunctions2_function.route) + length(google_pubsub_subscription.route) + length(google_service_account.route)
      + length(google_service_account.push) + length(google_cloud_run_service_iam_member.push_invokes_route)
      + length(google_bigquery_table_iam_member.route_writes_rows) + length(google_pubsub_topic_iam_member.route_publishes_dead_letters)
      + length(google_pubsub_subscription_iam_member.pubsub_agent_acknowledges_route) + length(google_service_account_iam_member.pubsub_agent_signs_push_tokens)
    ) == 0
    error_message = "With the subscription router no route function (nor its push subscription, identities or grants) may be deployed."
  }
  assert {
    condition     = length(google_cloudfunctions2_function.ingest) == 1 && output.route_subscription == null && !contains(keys(output.service_accounts), "route")
    error_message = "With HTTP_PUSH the ingest function stays; the outputs name no route subscription or identity."
  }
  assert {
    condition = (
      google_pubsub_subscription.bigquery[0].topic == google_pubsub_topic.events.id
      && google_pubsub_subscription.bigquery[0].bigquery_config[0].table == "my-project.dt.events_log"
      && google_pubsub_subscription.bigquery[0].bigquery_config[0].use_table_schema
      && google_pubsub_subscription.bigquery[0].bigquery_config[0].write_metadata == false
      && google_pubsub_subscription.bigquery[0].bigquery_config[0].drop_unknown_fields == false
      && output.bigquery_subscription == google_pubsub_subscription.bigquery[0].id
    )
    error_message = "One BigQuery subscription on the events topic writes events_log with the table's schema, no metadata columns, and refuses (never drops) fields the table lacks."
  }
  assert {
    condition = (
      try(google_pubsub_subscription.bigquery[0].dead_letter_policy[0].dead_letter_topic, null) == google_pubsub_topic.dead_letter.id
      && try(google_pubsub_subscription.bigquery[0].dead_letter_policy[0].max_delivery_attempts, null) == 7
      && try(google_pubsub_subscription.bigquery[0].retry_policy[0].minimum_backoff, null) == "10s"
      && google_pubsub_subscription.bigquery[0].expiration_policy[0].ttl == ""
    )
    error_message = "The BigQuery subscription must dead-letter after max_delivery_attempts (7 here), back off, and never expire."
  }
  assert {
    condition = (
      length(google_pubsub_subscription.bigquery[0].message_transforms) == 1
      && try(google_pubsub_subscription.bigquery[0].message_transforms[0].javascript_udf[0].function_name, null) == "dtEventToRow"
      && try(google_pubsub_subscription.bigquery[0].message_transforms[0].javascript_udf[0].code, null) == file("${path.module}/../functions/transform/dt_event_to_row.js")
      && try(google_pubsub_subscription.bigquery[0].message_transforms[0].disabled, null) != true
    )
    error_message = "The subscription's transform must be dtEventToRow from the generated file functions/transform/dt_event_to_row.js, enabled."
  }
  assert {
    condition = (
      google_bigquery_table_iam_member.pubsub_agent_writes_events[0].table_id == google_bigquery_table.events_log.table_id
      && google_bigquery_table_iam_member.pubsub_agent_writes_events[0].role == "roles/bigquery.dataEditor"
      && google_bigquery_table_iam_member.pubsub_agent_writes_events[0].member == google_project_service_identity.pubsub.member
      && google_pubsub_subscription_iam_member.pubsub_agent_acknowledges_bigquery[0].subscription == google_pubsub_subscription.bigquery[0].id
      && google_pubsub_subscription_iam_member.pubsub_agent_acknowledges_bigquery[0].role == "roles/pubsub.subscriber"
      && google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters.topic == google_pubsub_topic.dead_letter.id
    )
    error_message = "Pub/Sub's agent may write events_log (that table only), acknowledge on the BigQuery subscription and publish dead letters."
  }
  assert {
    condition = length(google_monitoring_alert_policy.subscription_backlog[0].conditions) == 2 && alltrue([
      for name in ["dt-bq-bigquery", "dt-bq-dead-letter-archive"] : anytrue([
        for condition in google_monitoring_alert_policy.subscription_backlog[0].conditions :
        strcontains(condition.condition_threshold[0].filter, "resource.label.subscription_id = \"${name}\"")
      ])
    ])
    error_message = "The backlog alert must watch both BigQuery subscriptions: an errored one dead-letters nothing."
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.dead_letters[0].documentation[0].content, "CloudPubSubDeadLetterSourceDeliveryErrorMessage")
    error_message = "With the subscription router the dead-letter alert explains Pub/Sub's reason attribute, not the route function's logs."
  }
}

run "the_subscription_router_with_the_pubsub_connector_runs_no_function_at_all" {
  command = plan

  variables {
    router             = "bigquery_subscription"
    connector_type     = "GOOGLE_CLOUD_PUBSUB"
    dt_organization_id = "c0md3mm0c7pet3c1vdd0"
  }

  assert {
    condition = (
      length(google_cloudfunctions2_function.ingest) + length(google_cloudfunctions2_function.route)
      + length(data.archive_file.function_source) + length(google_storage_bucket.function_source)
      + length(google_storage_bucket_object.function_source) + length(google_artifact_registry_repository.functions)
      + length(google_service_account.build) + length(google_project_iam_member.build)
      + length(google_artifact_registry_repository_iam_member.build_pushes_images)
    ) == 0
    error_message = "GOOGLE_CLOUD_PUBSUB with the subscription router deploys no function, so no source archive, bucket, image repository or build identity."
  }
  assert {
    condition     = length(setintersection(keys(google_project_service.enabled), ["cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com"])) == 0
    error_message = "Without functions, their APIs are not enabled."
  }
  assert {
    condition     = length(google_pubsub_subscription.bigquery) == 1 && dt_data_connector.bigquery["c0md3mm0c7pet3c1vddg"].pubsub_config.topic == google_pubsub_topic.events.id
    error_message = "DT publishes to the events topic, and the BigQuery subscription writes from it."
  }
}

run "the_function_router_with_the_pubsub_connector" {
  command = plan

  variables {
    connector_type     = "GOOGLE_CLOUD_PUBSUB"
    dt_organization_id = "c0md3mm0c7pet3c1vdd0"
  }

  assert {
    condition = (
      length(google_cloudfunctions2_function.ingest) == 0 && length(google_cloudfunctions2_function.route) == 1
      && length(google_service_account.build) == 1 && length(google_storage_bucket.function_source) == 1
      && length(google_pubsub_subscription.bigquery) == 0
      && google_pubsub_subscription.route[0].topic == google_pubsub_topic.events.id
    )
    error_message = "GOOGLE_CLOUD_PUBSUB with the function router deploys the route function (and what builds it) only."
  }
}

run "rejects_an_unknown_router_and_a_backlog_threshold_out_of_range" {
  command = plan
  variables {
    router                             = "dataflow" # no such router
    alert_subscription_backlog_seconds = 60         # shorter than a healthy retry's backoff
  }
  expect_failures = [
    var.router,
    var.alert_subscription_backlog_seconds,
  ]
}
