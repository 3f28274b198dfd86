# One run per variable validation: each plans with one invalid value and expects exactly that
# variable's validation to fail. tests/terraform checks that every validated variable has a run
# here (and that the example's have theirs in examples/basic/tests).

mock_provider "google" {}
mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id    = "my-project"
  dt_project_id = "c0md3mm0c7pet3c1vddg"
}

run "rejects_a_project_name_for_a_project_id" {
  command = plan
  variables {
    project_id = "My Project"
  }
  expect_failures = [var.project_id]
}

run "rejects_a_zone_for_a_region" {
  command = plan
  variables {
    region = "europe-west1-b"
  }
  expect_failures = [var.region]
}

run "rejects_a_prefix_too_long_for_service_account_ids" {
  command = plan
  variables {
    name_prefix = "dt-bigquery-bridge"
  }
  expect_failures = [var.name_prefix]
}

run "rejects_labels_google_refuses" {
  command = plan
  variables {
    resource_labels = { Team = "Data Platform" }
  }
  expect_failures = [var.resource_labels]
}

run "rejects_an_unknown_connector_type" {
  command = plan
  variables {
    connector_type = "PUBSUB"
  }
  expect_failures = [var.connector_type]
}

run "rejects_a_project_resource_name_in_dt_project_ids" {
  command = plan
  variables {
    dt_project_ids = ["projects/c0md3mm0c7pet3c1vddg"]
  }
  expect_failures = [var.dt_project_ids]
}

run "rejects_a_dt_project_listed_twice" {
  command = plan
  variables {
    dt_project_ids = ["c0md3mm0c7pet3c1vddg", "c0md3mm0c7pet3c1vddg"]
  }
  expect_failures = [var.dt_project_ids]
}

run "rejects_a_project_resource_name_for_dt_project_id" {
  command = plan
  variables {
    dt_project_id = "projects/c0md3mm0c7pet3c1vddg"
  }
  expect_failures = [var.dt_project_id]
}

run "rejects_an_organization_resource_name" {
  command = plan
  variables {
    dt_organization_id = "organizations/c0md3mm0c7pet3c1vdd0"
  }
  expect_failures = [var.dt_organization_id]
}

run "rejects_an_issuer_that_is_not_https" {
  command = plan
  variables {
    dt_oidc_issuer = "http://identity.disruptive-technologies.com/data-connector"
  }
  expect_failures = [var.dt_oidc_issuer]
}

run "rejects_an_unknown_event_type" {
  command = plan
  variables {
    event_types = ["temperature", "temprature"]
  }
  expect_failures = [var.event_types]
}

run "rejects_a_label_forwarded_twice" {
  command = plan
  variables {
    forwarded_labels = ["name", "name"]
  }
  expect_failures = [var.forwarded_labels]
}

run "rejects_a_blank_connector_name" {
  command = plan
  variables {
    connector_display_name = "  "
  }
  expect_failures = [var.connector_display_name]
}

run "rejects_generation_zero" {
  command = plan
  variables {
    signature_secret_generation = 0
  }
  expect_failures = [var.signature_secret_generation]
}

run "rejects_a_dataset_id_with_hyphens" {
  command = plan
  variables {
    dataset_id = "dt-events"
  }
  expect_failures = [var.dataset_id]
}

run "rejects_a_lowercase_multi_region" {
  command = plan
  variables {
    dataset_location = "eu"
  }
  expect_failures = [var.dataset_location]
}

run "rejects_a_runtime_older_than_python311" {
  command = plan
  variables {
    python_runtime = "python39"
  }
  expect_failures = [var.python_runtime]
}

run "rejects_an_unknown_log_level" {
  command = plan
  variables {
    log_level = "VERBOSE"
  }
  expect_failures = [var.log_level]
}

run "rejects_memory_without_a_unit" {
  command = plan
  variables {
    ingest_memory = "512"
  }
  expect_failures = [var.ingest_memory]
}

run "rejects_a_cpu_that_is_not_a_number" {
  command = plan
  variables {
    ingest_cpu = "one"
  }
  expect_failures = [var.ingest_cpu]
}

run "rejects_an_ingest_timeout_over_an_hour" {
  command = plan
  variables {
    ingest_timeout_seconds = 3601
  }
  expect_failures = [var.ingest_timeout_seconds]
}

run "rejects_zero_ingest_instances" {
  command = plan
  variables {
    ingest_max_instances = 0
  }
  expect_failures = [var.ingest_max_instances]
}

run "rejects_zero_ingest_concurrency" {
  command = plan
  variables {
    ingest_concurrency = 0
  }
  expect_failures = [var.ingest_concurrency]
}

run "rejects_route_memory_in_bytes" {
  command = plan
  variables {
    route_memory = "536870912"
  }
  expect_failures = [var.route_memory]
}

run "rejects_a_negative_route_cpu" {
  command = plan
  variables {
    route_cpu = "-1"
  }
  expect_failures = [var.route_cpu]
}

run "rejects_a_route_timeout_beyond_the_ack_deadline" {
  command = plan
  variables {
    route_timeout_seconds = 900
  }
  expect_failures = [var.route_timeout_seconds]
}

run "rejects_zero_route_instances" {
  command = plan
  variables {
    route_max_instances = 0
  }
  expect_failures = [var.route_max_instances]
}

run "rejects_route_concurrency_over_1000" {
  command = plan
  variables {
    route_concurrency = 1001
  }
  expect_failures = [var.route_concurrency]
}

run "rejects_an_unknown_ingress_setting" {
  command = plan
  variables {
    route_ingress_settings = "INTERNAL"
  }
  expect_failures = [var.route_ingress_settings]
}

run "rejects_fewer_delivery_attempts_than_pubsub_allows" {
  command = plan
  variables {
    max_delivery_attempts = 4
  }
  expect_failures = [var.max_delivery_attempts]
}

run "rejects_a_retention_pubsub_refuses" {
  command = plan
  variables {
    message_retention_duration = "31d"
  }
  expect_failures = [var.message_retention_duration]
}

run "rejects_a_notification_channel_that_is_not_a_channel_id" {
  command = plan
  variables {
    notification_channels = ["ops@example.com"]
  }
  expect_failures = [var.notification_channels]
}

run "rejects_a_5xx_ratio_given_as_a_percentage" {
  command = plan
  variables {
    alert_ingest_5xx_ratio = 5
  }
  expect_failures = [var.alert_ingest_5xx_ratio]
}

run "rejects_a_5xx_duration_of_no_whole_minutes" {
  command = plan
  variables {
    alert_ingest_5xx_duration_seconds = 90
  }
  expect_failures = [var.alert_ingest_5xx_duration_seconds]
}

run "rejects_a_silence_longer_than_monitoring_watches" {
  command = plan
  variables {
    alert_no_events_duration_seconds = 86400
  }
  expect_failures = [var.alert_no_events_duration_seconds]
}

run "rejects_a_runbook_url_with_a_fragment" {
  command = plan
  variables {
    runbook_url = "https://example.com/ops.md#alerts"
  }
  expect_failures = [var.runbook_url]
}
