"""Check terraform/ (the module) and examples/ (root configurations calling it) as strictly as
possible without the Terraform registry (and so without providers).

    python3 scripts/terraform/offline_check.py [setup|fmt|validate|test|checkov|all]

- `terraform fmt -check -recursive` on terraform/ and examples/.
- The real `terraform init` + `terraform validate` of the module and of each example, with
  schema-only stand-ins for the providers
  (stub_provider.py, one per provider, serving the schemas in provider-schemas/: extracted from
  PyPI's CDKTF bindings of the pinned provider versions, and written by hand for DT). Terraform
  itself then rejects any argument, block or type the real provider would reject.
- `terraform test`: terraform/tests/*.tftest.hcl plan the module with mocked providers.
- checkov (pinned, in a venv of its own), every finding fixed or skipped in the code with a reason.

Everything it installs goes to .cache/terraform-check/ (git-ignored), pinned by
requirements-stub.txt and requirements-checkov.txt; running it again reuses what is there.
Terraform runs in a copy of the module and the examples (with main.py, requirements.txt and
functions/ beside them, as in the repository), so no lock file or .terraform/ lands in the tree.
Only the standard library is used: tests/terraform imports this module too.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MODULE = ROOT / "terraform"
EXAMPLES = ROOT / "examples"
SCHEMAS = HERE / "provider-schemas"
CACHE = ROOT / ".cache" / "terraform-check"
PLUGINS = CACHE / "plugins"
STUB_VENV = CACHE / "stub-venv"
CHECKOV_VENV = CACHE / "checkov-venv"
MINIMUM_TERRAFORM = (1, 11)  # mock_provider's override_during (terraform/tests) needs 1.11
# What the module needs beside it: local.repository_root is terraform/.. (source.tf, main.tf).
MODULE_NEIGHBOURS = ("main.py", "requirements.txt", "functions")


class CheckError(Exception):
    """A check could not run (missing tool, failed install); the message says what to do."""


def terraform_environment() -> dict[str, str]:
    return {
        **os.environ,
        # The image points TF_CLI_CONFIG_FILE at a missing file (a warning on every command).
        "TF_CLI_CONFIG_FILE": "/dev/null",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }


def terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise CheckError(
            "terraform is not on PATH; install Terraform 1.11+ (the image has it in /usr/local/bin)"
        )
    output = subprocess.run(
        [binary, "version", "-json"], capture_output=True, text=True, env=terraform_environment(), check=True
    ).stdout
    version = tuple(int(part) for part in json.loads(output)["terraform_version"].split(".")[:2])
    if version < MINIMUM_TERRAFORM:
        raise CheckError(f"Terraform {'.'.join(map(str, MINIMUM_TERRAFORM))}+ is needed, found {version}")
    return binary


@contextmanager
def _locked() -> Iterator[None]:
    """One installer at a time (the script and pytest may run side by side)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _venv(folder: Path, requirements: Path) -> Path:
    """A venv at `folder` with exactly the pinned `requirements`, reinstalled when they change."""
    stamp = folder / ".installed"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    python = folder / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    uv = os.environ.get("UV")  # ./run installs uv and sets UV: seconds where pip takes a minute
    if uv and Path(uv).is_file():
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(folder)], check=True)
        command = [
            uv,
            "pip",
            "install",
            "-q",
            "--compile-bytecode",
            "--python",
            str(python),
            "-r",
            str(requirements),
        ]
    else:
        venv.EnvBuilder(with_pip=True).create(folder)
        command = [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CheckError(f"installing {requirements.name} into {folder} failed:\n{result.stderr[-3000:]}")
    stamp.write_text(wanted)
    return python


def _platform() -> str:
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[
        platform.machine().lower()
    ]
    return f"{platform.system().lower()}_{machine}"


def install_stub_providers() -> Path:
    """A plugin folder (the layout `terraform init -plugin-dir` reads) with one stub per schema file."""
    python = _venv(STUB_VENV, HERE / "requirements-stub.txt")
    for schema_path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(schema_path.read_text())
        host, namespace, name = schema["provider_source"].split("/")
        version = schema["provider_version"]
        folder = PLUGINS / host / namespace / name / version / _platform()
        folder.mkdir(parents=True, exist_ok=True)
        executable = folder / f"terraform-provider-{name}_v{version}"
        # HOME: the `tf` framework caches its TLS certificate under ~/.cache; keep it in ours.
        script = (
            "#!/bin/sh\n"
            f'HOME="{CACHE / "home"}" exec "{python}" "{HERE / "stub_provider.py"}" "{schema_path}" "$@"\n'
        )
        if not executable.exists() or executable.read_text() != script:
            executable.write_text(script)
            executable.chmod(0o755)
    return PLUGINS


def install_checkov() -> Path:
    return _venv(CHECKOV_VENV, HERE / "requirements-checkov.txt").parent / "checkov"


def setup(with_checkov: bool = True) -> None:
    terraform_binary()
    with _locked():
        install_stub_providers()
        if with_checkov:
            install_checkov()


def terraform(workdir: Path, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [terraform_binary(), f"-chdir={workdir}", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=terraform_environment(),
        # `terraform test` starts every stub provider again for each of its runs (about 60).
        timeout=1800,
    )


def examples(root: Path = ROOT) -> list[Path]:
    """The example root configurations (examples/<name>/ holding .tf files)."""
    return sorted(path.parent for path in (root / "examples").glob("*/main.tf"))


def workspace(name: str, source_root: Path = ROOT) -> Path:
    """A fresh, initialized copy of terraform/ (as `<copy>/terraform`) with its neighbours and the
    examples (as `<copy>/examples`, initialized too); returns the module folder. `source_root` is
    where main.py, requirements.txt and functions/ come from."""
    copy = CACHE / "work" / name
    shutil.rmtree(copy, ignore_errors=True)
    ignored = shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", ".build", "*.tfstate*", "terraform.tfvars"
    )
    shutil.copytree(MODULE, copy / "terraform", ignore=ignored)
    if EXAMPLES.is_dir():
        shutil.copytree(EXAMPLES, copy / "examples", ignore=ignored)
    for neighbour in MODULE_NEIGHBOURS:
        source = source_root / neighbour
        if source.is_dir():
            shutil.copytree(source, copy / neighbour)
        elif source.exists():
            shutil.copy2(source, copy / neighbour)
    with _locked():
        plugins = install_stub_providers()
    for folder in [copy / "terraform", *examples(copy)]:
        result = terraform(folder, "init", "-backend=false", "-input=false", f"-plugin-dir={plugins}")
        if result.returncode != 0:
            raise CheckError(f"terraform init of {folder.name} failed:\n{result.stdout}\n{result.stderr}")
    return copy / "terraform"


def console(workdir: Path, expression: str, variables: dict[str, object]) -> object:
    """Evaluates `expression` (which must give a JSON string, e.g. jsonencode(...)) in the module."""
    arguments = [
        f"-var={name}={json.dumps(value) if not isinstance(value, str) else value}"
        for name, value in variables.items()
    ]
    result = terraform(workdir, "console", *arguments, stdin=expression + "\n")
    if result.returncode != 0:
        raise CheckError(f"terraform console failed:\n{result.stderr}")
    return json.loads(json.loads(result.stdout.strip()))


def checkov(directory: Path = MODULE) -> subprocess.CompletedProcess[str]:
    """checkov on `directory`, JSON report on stdout; --skip-download keeps it offline."""
    with _locked():
        executable = install_checkov()
    return subprocess.run(
        [
            str(executable),
            "--directory",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def checkov_summary(result: subprocess.CompletedProcess[str]) -> dict:
    """Passed count, failed and skipped checks, and parsing errors of a checkov JSON report."""
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise CheckError(
            f"checkov gave no JSON report:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        ) from None
    reports = report if isinstance(report, list) else [report]
    return {
        "passed": sum(r.get("summary", {}).get("passed", 0) for r in reports),
        "failed": [check for r in reports for check in r.get("results", {}).get("failed_checks", [])],
        "skipped": [check for r in reports for check in r.get("results", {}).get("skipped_checks", [])],
        "parsing_errors": sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports),
        "resources": sum(r.get("summary", {}).get("resource_count", 0) for r in reports),
    }


# --- the command line ----------------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _fmt() -> bool:
    result = subprocess.run(
        [terraform_binary(), "fmt", "-check", "-recursive", "-diff", str(MODULE), str(EXAMPLES)],
        capture_output=True,
        text=True,
        env=terraform_environment(),
    )
    print(result.stdout + result.stderr, end="")
    return result.returncode == 0


def _validate_and_test() -> bool:
    workdir = workspace("check")
    ok = True
    runs = [(workdir, ("validate", "-no-color")), (workdir, ("test", "-no-color"))]
    for example in examples(workdir.parent):
        runs += [(example, ("validate", "-no-color")), (example, ("test", "-no-color"))]
    for folder, arguments in runs:
        print(f"{folder.relative_to(workdir.parent)}: terraform {arguments[0]}")
        result = terraform(folder, *arguments)
        print(result.stdout + result.stderr, end="")
        ok = ok and result.returncode == 0
    return ok


def _checkov() -> bool:
    result = checkov()
    summary = checkov_summary(result)
    for check in summary["failed"]:
        print(f"FAILED {check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}")
    unexplained = [
        c for c in summary["skipped"] if not (c.get("check_result", {}).get("suppress_comment") or "").strip()
    ]
    for check in unexplained:
        print(f"SKIPPED WITHOUT A REASON {check['check_id']} {check['resource']}")
    print(
        f"checkov: {summary['passed']} passed, {len(summary['failed'])} failed, "
        f"{len(summary['skipped'])} skipped with a reason, {summary['parsing_errors']} parsing errors"
    )
    return not summary["failed"] and not unexplained and not summary["parsing_errors"]


def main(arguments: list[str]) -> int:
    command = arguments[0] if arguments else "all"
    steps = {
        "fmt": [("terraform fmt -check", _fmt)],
        "validate": [("terraform validate and terraform test (stub providers)", _validate_and_test)],
        "test": [("terraform validate and terraform test (stub providers)", _validate_and_test)],
        "checkov": [("checkov", _checkov)],
    }
    steps["all"] = steps["fmt"] + steps["validate"] + steps["checkov"]
    if command not in [*steps, "setup"]:
        print(__doc__)
        return 2
    try:
        _say("setup (.cache/terraform-check)")
        setup(with_checkov=command in ("all", "checkov", "setup"))
        failures = []
        for title, step in steps.get(command, []):
            _say(title)
            if not step():
                failures.append(title)
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for title in failures:
        print(f"FAILED: {title}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
