# Computed values the google mock returns, shared by the tests that check wiring
# (mock_provider "google" { source = "./tests/mocks" }).

mock_resource "google_pubsub_topic" {
  defaults = {
    id = "projects/my-project/topics/mocked"
  }
}
mock_resource "google_cloudfunctions2_function" {
  defaults = {
    url = "https://europe-west1-my-project.cloudfunctions.net/mocked"
    service_config = {
      uri = "https://mocked-uc.a.run.app"
    }
  }
}
mock_resource "google_service_account" {
  defaults = {
    email  = "mocked@my-project.iam.gserviceaccount.com"
    member = "serviceAccount:mocked@my-project.iam.gserviceaccount.com"
  }
}
mock_resource "google_secret_manager_secret_version" {
  defaults = {
    version = "7"
  }
}
mock_resource "google_iam_workload_identity_pool" {
  defaults = {
    name = "projects/123456789012/locations/global/workloadIdentityPools/dt-bq-dt"
  }
}
mock_resource "google_iam_workload_identity_pool_provider" {
  defaults = {
    name = "projects/123456789012/locations/global/workloadIdentityPools/dt-bq-dt/providers/dt-data-connector"
  }
}
mock_resource "google_pubsub_subscription" {
  defaults = {
    id = "projects/my-project/subscriptions/mocked"
  }
}
