# A first deployment from the example, then the secret's rotation as docs/deploy.md tells it:
# the settings go in through the example's variables (as terraform.tfvars gives them), the state
# carries over from run to run. tests/terraform checks that every module input is declared here.

mock_provider "google" {}
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

run "first_deploy_has_the_first_secret_generation" {
  command = apply

  assert {
    condition     = keys(output.signature_secret_versions) == ["DT_SIGNATURE_SECRET"] && output.signature_secret_versions["DT_SIGNATURE_SECRET"].generation == 1
    error_message = "A first deployment must give the ingest function the first generation of the secret only."
  }
  assert {
    condition     = output.signature_secret != null
    error_message = "The example must name the Secret Manager secret (for `gcloud secrets versions access`)."
  }
}

run "rotation_adds_the_new_version_and_keeps_accepting_the_previous_one" {
  command = plan

  variables {
    signature_secret_generation      = 2
    accept_previous_signature_secret = true
  }

  assert {
    condition     = output.signature_secret_versions["DT_SIGNATURE_SECRET"].generation == 2 && output.signature_secret_versions["DT_SIGNATURE_SECRET_PREVIOUS"].generation == 1
    error_message = "Step 1 of the rotation must give the ingest function the new generation and the previous one."
  }
  assert {
    condition     = output.signature_secret_versions["DT_SIGNATURE_SECRET_PREVIOUS"].version == run.first_deploy_has_the_first_secret_generation.signature_secret_versions["DT_SIGNATURE_SECRET"].version
    error_message = "The previous generation must stay the very Secret Manager version deployed before, not a new one."
  }
}

run "rotation_step_one_applied" {
  command = apply

  variables {
    signature_secret_generation      = 2
    accept_previous_signature_secret = true
  }

  assert {
    condition     = output.signature_secret_versions["DT_SIGNATURE_SECRET"].version != run.first_deploy_has_the_first_secret_generation.signature_secret_versions["DT_SIGNATURE_SECRET"].version
    error_message = "The new generation must be a new Secret Manager version."
  }
}

run "rotation_done_drops_the_previous_secret" {
  command = plan

  variables {
    signature_secret_generation      = 2
    accept_previous_signature_secret = false
  }

  assert {
    condition     = keys(output.signature_secret_versions) == ["DT_SIGNATURE_SECRET"] && output.signature_secret_versions["DT_SIGNATURE_SECRET"].version == run.rotation_step_one_applied.signature_secret_versions["DT_SIGNATURE_SECRET"].version
    error_message = "Step 3 must keep the new version and drop the previous one."
  }
}

run "module_settings_the_docs_name_reach_the_module" {
  command = plan

  variables {
    name_prefix                      = "dt-bq-two"
    dataset_id                       = "dt_two"
    log_level                        = "WARNING"
    message_retention_duration       = "86400s"
    alert_no_events_duration_seconds = 7200
    partition_expiration_days        = 400
    dt_organization_id               = "c0md3mm0c7pet3c1vdd0"
    require_asymmetric_signature     = true
  }

  assert {
    condition     = output.dataset == "my-project.dt_two"
    error_message = "dataset_id must reach the module from the example."
  }
  assert {
    condition     = output.signature_secret == null && length(output.signature_secret_versions) == 0
    error_message = "require_asymmetric_signature must reach the module from the example: no shared secret."
  }
}
