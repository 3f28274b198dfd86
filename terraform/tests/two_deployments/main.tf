# Two deployments of the module in one Google Cloud project, as docs/deploy.md describes them:
# each with its own name_prefix and dataset_id. Planned by first_deploy.tftest.hcl; that every
# name the module gives derives from one of the two is checked by tests/terraform.

terraform {
  required_providers {
    google      = { source = "hashicorp/google" }
    google-beta = { source = "hashicorp/google-beta" }
    random      = { source = "hashicorp/random" }
    archive     = { source = "hashicorp/archive" }
    dt          = { source = "disruptive-technologies/dt" }
  }
}

module "production" {
  source = "../.."

  project_id            = "shared-project"
  dt_project_ids        = ["c0md3mm0c7pet3c1vddg"]
  notification_channels = ["projects/shared-project/notificationChannels/1234567890"]
}

module "staging" {
  source = "../.."

  project_id            = "shared-project"
  name_prefix           = "dt-bq-staging"
  dataset_id            = "dt_staging"
  dt_project_ids        = ["c1aaaaaaaaaaaaaaaaa0"]
  notification_channels = ["projects/shared-project/notificationChannels/1234567890"]
}

output "datasets" {
  value = [module.production.dataset, module.staging.dataset]
}

output "tables" {
  value = [module.production.tables, module.staging.tables]
}
