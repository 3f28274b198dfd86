# Hardening (issue 21), planned with mocked providers: alerts that reach someone (a plan-time
# warning without channels; the ingest 4xx alert), a retry budget of hours, the build identity
# reading the function source buckets only, the ES256 requirement and the DT project allow-list
# passed to the ingest function.

mock_provider "google" {
  override_during = plan
  source          = "./tests/mocks"
}

mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id            = "my-project"
  dt_project_ids        = ["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"]
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "alerts_without_notification_channels_warn_at_plan_time" {
  command = plan

  variables {
    notification_channels = []
  }

  expect_failures = [check.alerts_reach_someone]
}

run "alerts_with_a_channel_do_not_warn" {
  command = plan

  assert {
    condition     = google_monitoring_alert_policy.ingest_4xx[0].notification_channels == tolist(["projects/my-project/notificationChannels/1234567890"])
    error_message = "The 4xx alert must notify the configured channels."
  }
}

run "alerts_switched_off_do_not_warn" {
  command = plan

  variables {
    enable_alerts = false
  }

  assert {
    condition     = length(google_monitoring_alert_policy.ingest_4xx) == 0
    error_message = "No 4xx alert without enable_alerts."
  }
}

run "the_ingest_4xx_alert_watches_the_share_of_refused_requests" {
  command = plan

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.ingest_4xx[0].conditions[0].condition_threshold[0].filter, "metric.label.response_code_class = \"4xx\"")
      && strcontains(google_monitoring_alert_policy.ingest_4xx[0].conditions[0].condition_threshold[0].filter, "resource.label.service_name = \"dt-bq-ingest\"")
      && google_monitoring_alert_policy.ingest_4xx[0].conditions[0].condition_threshold[0].denominator_filter == google_monitoring_alert_policy.ingest_5xx[0].conditions[0].condition_threshold[0].denominator_filter
      && google_monitoring_alert_policy.ingest_4xx[0].conditions[0].condition_threshold[0].threshold_value == 0.2
      && google_monitoring_alert_policy.ingest_4xx[0].conditions[0].condition_threshold[0].duration == "1800s"
      && google_monitoring_alert_policy.ingest_4xx[0].conditions[0].condition_threshold[0].comparison == "COMPARISON_GT"
    )
    error_message = "The 4xx alert must compare this ingest function's 4xx answers with all its requests (20% for 30 min by default)."
  }
  assert {
    condition     = contains(keys(output.alert_policies), "ingest_4xx")
    error_message = "The alert_policies output must name the 4xx alert."
  }
}

run "the_default_retry_budget_rides_out_an_outage_of_hours" {
  command = plan

  # Pub/Sub's backoff doubles from minimum_backoff up to maximum_backoff: with 100 attempts, all
  # but the first seven wait the maximum (10 min), so the budget is about 16 hours.
  assert {
    condition = (
      google_pubsub_subscription.route[0].dead_letter_policy[0].max_delivery_attempts == 100
      && google_pubsub_subscription.route[0].retry_policy[0].maximum_backoff == "600s"
      && (google_pubsub_subscription.route[0].dead_letter_policy[0].max_delivery_attempts - 7) * 600 >= 12 * 3600
    )
    error_message = "The default retry budget must last hours (100 attempts, up to 600 s apart), not 40 minutes."
  }
}

run "the_build_identity_reads_the_function_source_buckets_only" {
  command = plan

  assert {
    condition     = keys(google_project_iam_member.build) == ["roles/logging.logWriter"]
    error_message = "The build identity's unconditional project roles: build logs only."
  }
  assert {
    condition = (
      google_project_iam_member.build_reads_sources[0].role == "roles/storage.objectViewer"
      && strcontains(google_project_iam_member.build_reads_sources[0].condition[0].expression, "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")")
      && strcontains(google_project_iam_member.build_reads_sources[0].condition[0].expression, "resource.name == \"projects/_/buckets/my-project-dt-bq-source\"")
      && strcontains(google_project_iam_member.build_reads_sources[0].condition[0].expression, "resource.name.startsWith(\"projects/_/buckets/my-project-dt-bq-source/\")")
      && length(regexall("\\|\\|", google_project_iam_member.build_reads_sources[0].condition[0].expression)) == 2
    )
    error_message = "objectViewer must be conditioned on Cloud Functions' source buckets and the module's source bucket only."
  }
}

run "ingest_gets_the_dt_project_allow_list_and_the_es256_requirement" {
  command = plan

  variables {
    dt_organization_id           = "c0md3mm0c7pet3c1vdd0"
    require_asymmetric_signature = true
  }

  assert {
    condition = (
      google_cloudfunctions2_function.ingest[0].service_config[0].environment_variables["DT_PROJECT_IDS"] == "c0md3mm0c7pet3c1vddg,c1aaaaaaaaaaaaaaaaa0"
      && google_cloudfunctions2_function.ingest[0].service_config[0].environment_variables["DT_REQUIRE_ASYMMETRIC_SIGNATURE"] == "true"
    )
    error_message = "ingest must get DT_PROJECT_IDS from dt_project_ids and DT_REQUIRE_ASYMMETRIC_SIGNATURE from require_asymmetric_signature."
  }
}

run "the_es256_requirement_is_off_by_default" {
  command = plan

  assert {
    condition     = !contains(keys(google_cloudfunctions2_function.ingest[0].service_config[0].environment_variables), "DT_REQUIRE_ASYMMETRIC_SIGNATURE")
    error_message = "Without require_asymmetric_signature, the shared secret alone is accepted (DT's default connector)."
  }
}

run "rejects_an_es256_requirement_without_an_organization_and_bad_4xx_thresholds" {
  command = plan
  variables {
    require_asymmetric_signature      = true # no dt_organization_id to check ES256 tokens against
    alert_ingest_4xx_ratio            = 1    # a ratio that can never be exceeded
    alert_ingest_4xx_duration_seconds = 90   # not a whole number of minutes
  }
  expect_failures = [
    var.require_asymmetric_signature,
    var.alert_ingest_4xx_ratio,
    var.alert_ingest_4xx_duration_seconds,
  ]
}
