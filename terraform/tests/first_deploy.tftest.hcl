# What a first deployment relies on, planned with mocked providers: retention, Pub/Sub storage
# pinned to the region, HTTP_PUSH with DT's ES256 signature only (no shared secret anywhere),
# and two deployments side by side in one project. Rotation from examples/basic is planned by
# examples/basic/tests/first_deploy.tftest.hcl.

mock_provider "google" {
  override_during = plan
  source          = "./tests/mocks"
}

mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id     = "my-project"
  dt_project_ids = ["c0md3mm0c7pet3c1vddg"]
  # Alerts that notify someone: without a channel, the check alerts_reach_someone fails the plan
  # (a warning outside terraform test).
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "events_are_kept_for_ever_by_default" {
  command = plan

  assert {
    condition     = google_bigquery_table.events_log.time_partitioning[0].expiration_ms == null && google_bigquery_table.dead_letters.time_partitioning[0].expiration_ms == null
    error_message = "Without partition_expiration_days, no partition of events_log (nor of dead_letters) may expire."
  }
}

run "partition_expiration_days_expires_the_landing_tables_partitions" {
  command = plan

  variables {
    partition_expiration_days = 400
  }

  assert {
    condition     = google_bigquery_table.events_log.time_partitioning[0].expiration_ms == 400 * 86400000
    error_message = "partition_expiration_days = 400 must expire each day partition of events_log after 400 days."
  }
  assert {
    condition     = google_bigquery_table.dead_letters.time_partitioning[0].expiration_ms == null
    error_message = "Dead letters are kept for good, whatever the events' retention."
  }
}

run "retention_must_be_whole_days" {
  command = plan

  variables {
    partition_expiration_days = 0.5
  }

  expect_failures = [var.partition_expiration_days]
}

run "pubsub_keeps_messages_in_the_region_by_default" {
  command = plan

  assert {
    condition = alltrue([
      for topic in [google_pubsub_topic.events, google_pubsub_topic.dead_letter] :
      length(topic.message_storage_policy) == 1 && topic.message_storage_policy[0].allowed_persistence_regions == toset(["europe-west1"])
    ])
    error_message = "Both topics must store messages in the functions' region only (message_storage_policy)."
  }
}

run "pubsub_storage_follows_the_region_or_the_given_regions" {
  command = plan

  variables {
    region                  = "us-central1"
    message_storage_regions = ["us-central1", "us-east1"]
  }

  assert {
    condition     = google_pubsub_topic.events.message_storage_policy[0].allowed_persistence_regions == toset(["us-central1", "us-east1"])
    error_message = "message_storage_regions must be the topics' allowed persistence regions."
  }
}

run "pubsub_storage_can_be_left_to_the_organization_policy" {
  command = plan

  variables {
    message_storage_regions = []
  }

  assert {
    condition     = length(google_pubsub_topic.events.message_storage_policy) == 0 && length(google_pubsub_topic.dead_letter.message_storage_policy) == 0
    error_message = "message_storage_regions = [] must leave the topics without a message storage policy."
  }
}

run "message_storage_regions_are_regions" {
  command = plan

  variables {
    message_storage_regions = ["EU"]
  }

  expect_failures = [var.message_storage_regions]
}

run "es256_only_connectors_have_no_shared_secret_anywhere" {
  command = plan

  variables {
    dt_organization_id           = "c0md3mm0c7pet3c1vdd0"
    require_asymmetric_signature = true
    # Ignored without a shared secret: still nothing is generated.
    signature_secret_generation      = 3
    accept_previous_signature_secret = true
  }

  assert {
    condition = (
      length(random_password.signature_secret) == 0
      && length(google_secret_manager_secret.signature_secret) == 0
      && length(google_secret_manager_secret_version.signature_secret) == 0
      && length(google_secret_manager_secret_iam_member.ingest_reads_signature_secret) == 0
    )
    error_message = "With require_asymmetric_signature, no signature secret may be generated or stored."
  }
  assert {
    condition     = alltrue([for connector in dt_data_connector.bigquery : connector.type == "HTTP_PUSH" && connector.http_config.signature_secret == null && connector.http_config.url == google_cloudfunctions2_function.ingest[0].url])
    error_message = "The HTTP_PUSH connectors must push to the ingest function without a signature secret."
  }
  assert {
    condition = (
      length(google_cloudfunctions2_function.ingest[0].service_config[0].secret_environment_variables) == 0
      && google_cloudfunctions2_function.ingest[0].service_config[0].environment_variables["DT_ORGANIZATION_ID"] == "c0md3mm0c7pet3c1vdd0"
    )
    error_message = "The ingest function must check DT's asymmetric signature for the organization, and read no signature secret."
  }
  assert {
    condition     = output.signature_secret == null && length(output.signature_secret_versions) == 0
    error_message = "No output may name a signature secret that does not exist."
  }
}

run "es256_only_needs_the_dt_organization" {
  command = plan

  variables {
    require_asymmetric_signature = true
  }

  expect_failures = [var.require_asymmetric_signature]
}

run "two_deployments_share_a_project" {
  command = plan

  module {
    source = "./tests/two_deployments"
  }

  assert {
    condition     = output.datasets == ["shared-project.dt", "shared-project.dt_staging"]
    error_message = "Each deployment must have its own dataset."
  }
  assert {
    condition     = length(setintersection(toset(values(output.tables[0])), toset(values(output.tables[1])))) == 0
    error_message = "No table or view may be shared by the two deployments."
  }
}
