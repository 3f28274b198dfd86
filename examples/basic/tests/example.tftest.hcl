# The example root configuration, planned with mocked providers: it calls the module with the
# example's variables, and each of its own validations must refuse a value.

mock_provider "google" {}
mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id     = "my-project"
  dt_project_ids = ["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"]
  # Alerts that notify someone: without a channel, the check alerts_reach_someone fails the plan
  # (a warning outside terraform test). Runs about alerts without channels set [] and expect it.
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "the_example_plans_the_module_with_a_connector_per_dt_project" {
  command = plan

  assert {
    condition     = toset(keys(module.dt_bigquery.connector_names)) == toset(["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"])
    error_message = "The example must pass dt_project_ids on to the module: one connector each."
  }
}

run "rejects_invalid_dt_provider_settings" {
  command = plan
  variables {
    dt_api_url             = "http://api.disruptive-technologies.com"            # not https
    dt_oidc_token_endpoint = "identity.disruptive-technologies.com/oauth2/token" # not a URL
    dt_oidc_email          = "terraform at example.com"                          # not an email
  }
  expect_failures = [
    var.dt_api_url,
    var.dt_oidc_token_endpoint,
    var.dt_oidc_email,
  ]
}
