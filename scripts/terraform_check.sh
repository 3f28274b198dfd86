#!/usr/bin/env bash
# Offline checks of terraform/ (no Terraform registry, no cloud account). Safe to run again.
#   1. terraform fmt -check -recursive
#   2. terraform init + validate + test, against schema-only stand-ins of the pinned providers
#   3. checkov (pinned, in its own venv): every finding fixed, or skipped in the code with a reason
#   4. tests/terraform/test_wiring.py: the wiring with the rest of the repository (entry points,
#      environment variables, schema files, source archive, IAM), in the project's .venv
# CI runs all of these through pytest (tests/terraform). Tools go to .cache/terraform-check/
# (git-ignored). How it works: terraform/README.md, "Checking offline".
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CLI_CONFIG_FILE=/dev/null

python3 scripts/terraform/offline_check.py all

if [ ! -x .venv/bin/python ]; then
  echo "==> .venv is missing: ./run setup" >&2
  ./run setup
fi
echo "==> tests/terraform/test_wiring.py"
exec .venv/bin/python -m pytest tests/terraform/test_wiring.py -q "$@"
