terraform {
  # 1.7: removed blocks (in the module). The offline checks (scripts/terraform_check.sh) run 1.11.
  required_version = ">= 1.7.0"

  # The same providers and constraints as the module (../../terraform/versions.tf).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
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
