# HTTP_PUSH and several DT projects, planned with mocked providers (GOOGLE_CLOUD_PUBSUB:
# pubsub.tftest.hcl). tests/terraform plants mistakes in a copy of the module and checks that
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

run "http_push_has_no_workload_identity_and_no_dt_principal" {
  command = plan

  assert {
    condition = (
      length(google_iam_workload_identity_pool.dt) + length(google_iam_workload_identity_pool_provider.dt) + length(google_pubsub_topic_iam_member.dt_publishes_events) == 0
      && output.dt_principal == null && output.workload_identity_provider == null
    )
    error_message = "With HTTP_PUSH, nothing outside Google may publish to the topic: no workload identity pool, provider or DT principal."
  }
  assert {
    condition     = length(google_cloudfunctions2_function.ingest) == 1 && length(google_cloud_run_service_iam_member.public_invokes_ingest) == 1 && length(random_password.signature_secret) == 1
    error_message = "With HTTP_PUSH, the public ingest function and its signature secret exist."
  }
  assert {
    condition     = keys(output.connector_names) == ["c0md3mm0c7pet3c1vddg"]
    error_message = "dt_project_id alone (the single-project configuration) must give one connector, keyed by the project id."
  }
}

run "several_dt_projects_push_into_one_pipeline" {
  command = plan

  variables {
    dt_project_id  = null
    dt_project_ids = ["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0", "c2bbbbbbbbbbbbbbbbb0"]
  }

  assert {
    condition     = toset(keys(dt_data_connector.bigquery)) == toset(["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0", "c2bbbbbbbbbbbbbbbbb0"])
    error_message = "Each DT project must get one connector."
  }
  assert {
    condition = alltrue([
      for id, connector in dt_data_connector.bigquery :
      connector.project == "projects/${id}" && connector.type == "HTTP_PUSH" && connector.http_config.url == google_cloudfunctions2_function.ingest[0].url && connector.pubsub_config == null
    ])
    error_message = "Every connector must push its own DT project's events to the one ingest function."
  }
  assert {
    condition     = length(google_cloudfunctions2_function.ingest) == 1 && length(google_pubsub_topic.events.name) > 0 && length(google_bigquery_dataset.events.dataset_id) > 0
    error_message = "Several DT projects share one ingest function, topic and dataset."
  }
}

run "a_single_project_and_a_list_join" {
  command = plan

  variables {
    dt_project_ids = ["c1aaaaaaaaaaaaaaaaa0", "c0md3mm0c7pet3c1vddg"]
  }

  assert {
    condition     = toset(keys(dt_data_connector.bigquery)) == toset(["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"])
    error_message = "dt_project_id joins dt_project_ids, once."
  }
}

run "at_least_one_dt_project" {
  command = plan

  variables {
    dt_project_id = null
  }

  expect_failures = [google_pubsub_topic.events]
}
