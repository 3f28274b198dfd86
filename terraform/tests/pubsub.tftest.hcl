# GOOGLE_CLOUD_PUBSUB, planned with mocked providers: DT publishes to the events topic through
# Workload Identity Federation, and nothing of the ingest path is left. tests/terraform plants
# mistakes in a copy of the module (a principal for another organization, a condition admitting
# any organization, the topic open to allUsers, the ingest function left behind) and checks that
# these runs catch them.

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

run "pubsub_connector_publishes_as_the_one_dt_principal" {
  command = plan

  variables {
    connector_type     = "GOOGLE_CLOUD_PUBSUB"
    dt_organization_id = "c0md3mm0c7pet3c1vdd0"
    dt_project_id      = null
    dt_project_ids     = ["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"]
  }

  # No public endpoint: nothing of the ingest path is left behind.
  assert {
    condition = (
      length(google_cloudfunctions2_function.ingest) + length(google_service_account.ingest)
      + length(google_cloud_run_service_iam_member.public_invokes_ingest)
      + length(google_pubsub_topic_iam_member.ingest_publishes_events)
      + length(google_secret_manager_secret.signature_secret) + length(google_secret_manager_secret_version.signature_secret)
      + length(google_secret_manager_secret_iam_member.ingest_reads_signature_secret)
      + length(random_password.signature_secret) + length(google_monitoring_alert_policy.ingest_5xx) + length(google_monitoring_alert_policy.ingest_4xx)
    ) == 0
    error_message = "With GOOGLE_CLOUD_PUBSUB no ingest function (nor its identity, public grant, secret or 4xx/5xx alert) may be deployed."
  }
  assert {
    condition     = output.ingest_url == null && output.signature_secret == null && !contains(keys(output.service_accounts), "ingest")
    error_message = "With GOOGLE_CLOUD_PUBSUB the outputs name no ingest function, secret or identity."
  }

  # The workload identity provider trusts DT's issuer, for the configured organization only.
  assert {
    condition = (
      google_iam_workload_identity_pool.dt[0].workload_identity_pool_id == "dt-bq-dt"
      && google_iam_workload_identity_pool_provider.dt[0].workload_identity_pool_id == google_iam_workload_identity_pool.dt[0].workload_identity_pool_id
      && google_iam_workload_identity_pool_provider.dt[0].oidc[0].issuer_uri == "https://identity.disruptive-technologies.com/data-connector"
      && google_iam_workload_identity_pool_provider.dt[0].attribute_mapping == tomap({ "google.subject" = "assertion.sub" })
    )
    error_message = "The provider must trust DT's data-connector issuer and map google.subject = assertion.sub."
  }
  assert {
    condition     = google_iam_workload_identity_pool_provider.dt[0].attribute_condition == "assertion.sub == \"c0md3mm0c7pet3c1vdd0\""
    error_message = "The provider's condition must admit the configured DT organization and no other."
  }

  # Publish rights on the events topic for that one principal, and nothing more.
  assert {
    condition = (
      google_pubsub_topic_iam_member.dt_publishes_events[0].member == "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dt-bq-dt/subject/c0md3mm0c7pet3c1vdd0"
      && google_pubsub_topic_iam_member.dt_publishes_events[0].role == "roles/pubsub.publisher"
      && google_pubsub_topic_iam_member.dt_publishes_events[0].topic == google_pubsub_topic.events.id
      && output.dt_principal == google_pubsub_topic_iam_member.dt_publishes_events[0].member
    )
    error_message = "Only the principal of the configured DT organization (subject = its id, in this module's pool) may publish, on the events topic only."
  }

  # One Pub/Sub connector per DT project, into the same topic.
  assert {
    condition = toset(keys(dt_data_connector.bigquery)) == toset(["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"]) && alltrue([
      for id, connector in dt_data_connector.bigquery :
      connector.project == "projects/${id}" && connector.type == "GOOGLE_CLOUD_PUBSUB" && connector.http_config == null
      && connector.pubsub_config.topic == google_pubsub_topic.events.id
      && connector.pubsub_config.audience == "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/dt-bq-dt/providers/dt-data-connector"
    ])
    error_message = "Each DT project needs a GOOGLE_CLOUD_PUBSUB connector publishing to the events topic, with the provider's full name as audience."
  }

  # The router, the tables and the dead letters are unchanged.
  assert {
    condition = (
      google_pubsub_subscription.route[0].topic == google_pubsub_topic.events.id
      && google_pubsub_subscription.route[0].push_config[0].push_endpoint == "https://mocked-uc.a.run.app/projects/my-project/topics/mocked"
      && google_pubsub_subscription.route[0].dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letter.id
      && google_bigquery_table.events_log.table_id == "events_log" && length(google_bigquery_table.typed_view) == length(fileset("${path.module}/../functions/schemas/events", "*.json")) + 1
      && length(google_monitoring_alert_policy.dead_letters) == 1 && length(google_monitoring_alert_policy.no_events) == 1
    )
    error_message = "With GOOGLE_CLOUD_PUBSUB the router, tables, dead letters and their alerts stay as with HTTP_PUSH."
  }
  assert {
    condition     = strcontains(google_monitoring_alert_policy.no_events[0].documentation[0].content, "GOOGLE_CLOUD_PUBSUB") && !strcontains(google_monitoring_alert_policy.no_events[0].documentation[0].content, "ingest function's logs")
    error_message = "The no-events alert must send the on-call to the Pub/Sub connector's checks, not to an ingest function that does not exist."
  }
  assert {
    condition     = contains(keys(google_project_service.enabled), "sts.googleapis.com")
    error_message = "The token exchange needs the Security Token Service API."
  }
}

run "pubsub_connector_needs_the_dt_organization" {
  command = plan

  variables {
    connector_type = "GOOGLE_CLOUD_PUBSUB"
  }

  expect_failures = [google_iam_workload_identity_pool.dt]
}
