"""Hardening of the deployment (issue 21) as Python sees it: a supply chain that can't drift
(requirements.txt fully pinned with hashes; the functions start from the exact archive Terraform
builds, in a clean venv holding only that), and the settings Terraform passes being ones the
code reads. terraform/tests/hardening.tftest.hcl checks the planned values."""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import requests

from local.servers import free_port
from tests.terraform.support import ROOT, module_files

UV = ROOT / ".cache" / "uv" / "bin" / "uv"


def requirement_blocks(path: Path) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, hashes)} of a `uv pip compile --generate-hashes` file; every requirement
    line must be `name==version` followed by its hashes."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    found: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(
            r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)(?:\s*;[^-]*)?((?:\s+--hash=sha256:[0-9a-f]{64})+)$",
            line,
        )
        assert match, f"{path.name}: not pinned with hashes: {line[:120]}"
        found[normalize(match.group(1))] = (
            match.group(2),
            re.findall(r"sha256:([0-9a-f]{64})", match.group(3)),
        )
    return found


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_requirements() -> dict[str, str]:
    """{name: version} of requirements.in, the direct dependencies."""
    found = re.findall(
        r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", (ROOT / "requirements.in").read_text(), re.M
    )
    return {normalize(name): version for name, version in found}


def test_requirements_txt_pins_every_dependency_with_its_hashes():
    pinned = requirement_blocks(ROOT / "requirements.txt")
    direct = direct_requirements()
    assert direct and {name: pinned[name][0] for name in direct} == direct, (
        "requirements.txt is not compiled from requirements.in"
    )
    assert all(hashes for _, hashes in pinned.values())
    # Every distribution the direct ones need, transitively (as installed here), is pinned.
    pending, closure = list(direct), set()
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" in requirement:
                continue
            dependency = normalize(re.split(r"[=<>!~\[; (]", requirement.strip())[0])
            try:
                importlib.metadata.version(dependency)
            except importlib.metadata.PackageNotFoundError:
                continue  # excluded by a marker here (python_version, platform)
            pending.append(dependency)
    assert closure <= set(pinned), f"not pinned: {sorted(closure - set(pinned))}"
    for name in closure:
        assert importlib.metadata.version(name) == pinned[name][0], (
            f"{name}: the dev venv has another version"
        )


def test_requirements_dev_installs_the_pinned_runtime_set():
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()


def _archive(files: list[str], source: Path, target: Path) -> Path:
    """The zip Terraform's archive_file builds: the listed files, from `source`, nothing else."""
    path = target / "function-source.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(source / name, name)
    return path


def _serve(venv: Path, folder: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [str(venv / "bin" / "functions-framework"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env={"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(folder), "PYTHONUNBUFFERED": "1"} | env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"not serving after 60 s:\n{log.read_text()[-3000:]}")


@pytest.mark.timeout(600)
def test_the_functions_start_from_the_exact_archive_terraform_builds_in_a_clean_venv(
    evaluated, workspace, tmp_path
):
    archive = _archive(evaluated["function_source_files"], workspace.parent, tmp_path)
    folder = tmp_path / "source"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder)
        assert sorted(opened.namelist()) == sorted(evaluated["function_source_files"])
    venv = tmp_path / "venv"
    subprocess.run(
        [str(UV), "venv", "-q", "--python", "python3", str(venv)],
        check=True,
        env=os.environ | {"VIRTUAL_ENV": ""},
    )
    installed = subprocess.run(
        [str(UV), "pip", "install", "-q", "--require-hashes", "--python", str(venv / "bin" / "python"),
         "-r", str(folder / "requirements.txt")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    environments = {
        "ingest": {"FUNCTION_TARGET": "ingest", "FUNCTION_USE_ASGI": "true", "DT_SIGNATURE_SECRET": "s",
                   "PUBSUB_TOPIC": "projects/p/topics/events", "DT_PROJECT_IDS": "c0md3mm0c7pet3c1vddg"},
        "route": {"FUNCTION_TARGET": "route", "FUNCTION_USE_ASGI": "true", "BIGQUERY_DATASET": "p.dt",
                  "DEAD_LETTER_TOPIC": "projects/p/topics/dead-letter"},
    }  # fmt: skip
    for target, env in environments.items():
        log = tmp_path / f"{target}.log"
        process, url = _serve(venv, folder, env, log)
        try:
            if target == "ingest":
                answer = requests.get(url, timeout=30)  # the first request builds the handler
                assert answer.status_code == 405 and answer.json()["error"] == "method_not_allowed"
                refused = requests.post(url, data=b"{}", timeout=10)
                assert refused.status_code == 401 and refused.json()["error"] == "invalid_signature"
            else:
                assert requests.get(url, timeout=10).status_code < 500
        finally:
            process.terminate()
            process.wait(timeout=20)
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_the_ingest_settings_terraform_passes_are_the_ones_the_code_reads():
    functions = (ROOT / "terraform" / "functions.tf").read_text()
    config = (ROOT / "functions" / "config.py").read_text()
    for name in ("DT_REQUIRE_ASYMMETRIC_SIGNATURE", "DT_PROJECT_IDS"):
        assert re.search(rf"\b{name}\s*=", functions), f"functions.tf does not set {name}"
        assert f'"{name}"' in config, f"functions/config.py does not read {name}"
    assert "var.require_asymmetric_signature" in functions and "local.dt_project_ids" in functions


def test_the_build_identity_has_no_unconditional_storage_role():
    grants = module_files()["iam.tf"]["resource"]
    for entry in grants:
        for kind, named in entry.items():
            for name, body in named.items():
                if kind == "google_project_iam_member" and "storage" in str(body.get("role", "")) + str(
                    body.get("for_each", "")
                ):
                    assert name == "build_reads_sources" and body.get("condition"), f"{kind}.{name}"
