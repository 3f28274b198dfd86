terraform {
  # 1.7: removed blocks (bigquery.tf keeps the tables of the 20-table layout). The offline checks
  # (scripts/terraform_check.sh) run Terraform 1.11.
  required_version = ">= 1.7.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    # Only for google_project_service_identity (the Pub/Sub service agent), which is beta-only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    dt = {
      source  = "disruptive-technologies/dt"
      version = "~> 0.18"
    }
  }
}
