# The example root configuration, planned with mocked providers: it calls the module with the
# example's variables, and each of its own validations has a run.

mock_provider "google" {}
mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id     = "my-project"
  dt_project_ids = ["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"]
}

run "the_example_plans_the_module_with_a_connector_per_dt_project" {
  command = plan

  assert {
    condition     = toset(keys(module.dt_bigquery.connector_names)) == toset(["c0md3mm0c7pet3c1vddg", "c1aaaaaaaaaaaaaaaaa0"])
    error_message = "The example must pass dt_project_ids on to the module: one connector each."
  }
}

run "rejects_a_dt_api_url_that_is_not_https" {
  command = plan
  variables {
    dt_api_url = "http://api.disruptive-technologies.com"
  }
  expect_failures = [var.dt_api_url]
}

run "rejects_a_token_endpoint_that_is_not_https" {
  command = plan
  variables {
    dt_oidc_token_endpoint = "identity.disruptive-technologies.com/oauth2/token"
  }
  expect_failures = [var.dt_oidc_token_endpoint]
}

run "rejects_a_dt_service_account_that_is_not_an_email" {
  command = plan
  variables {
    dt_oidc_email = "terraform at example.com"
  }
  expect_failures = [var.dt_oidc_email]
}
