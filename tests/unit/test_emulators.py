"""Finding Google's Pub/Sub emulator wherever the gcloud SDK installed it (fake SDK trees)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import emulators
from local.servers import free_port


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty PATH and no Debian package, unless a test adds them."""
    monkeypatch.delenv("PUBSUB_EMULATOR_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setattr(emulators, "DEBIAN_SDK_ROOT", tmp_path / "no-debian-package")
    emulators.find_pubsub_emulator.cache_clear()
    yield
    emulators.find_pubsub_emulator.cache_clear()


def test_missing_says_how_to_install_it():
    with pytest.raises(emulators.EmulatorError, match=r"not installed .* google-cloud-cli-pubsub-emulator"):
        emulators.find_pubsub_emulator()


def test_found_on_path(tmp_path):
    launcher = executable(tmp_path / "path" / "cloud-pubsub-emulator")
    assert emulators.find_pubsub_emulator() == launcher


def test_found_in_the_sdk_of_the_gcloud_on_path(tmp_path):
    sdk = tmp_path / "google-cloud-sdk"
    gcloud = executable(sdk / "bin" / "gcloud", "#!/bin/sh\nexit 1\n")
    launcher = executable(sdk / emulators.PUBSUB_EMULATOR_IN_SDK)
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "gcloud").symlink_to(gcloud)
    assert emulators.find_pubsub_emulator() == launcher


def test_found_in_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(emulators, "DEBIAN_SDK_ROOT", tmp_path / "usr-lib-sdk")
    launcher = executable(tmp_path / "usr-lib-sdk" / emulators.PUBSUB_EMULATOR_IN_SDK)
    assert emulators.find_pubsub_emulator() == launcher


def test_found_where_gcloud_info_says_the_sdk_is(tmp_path):
    """A gcloud that is a wrapper outside its SDK (e.g. a snap): only `gcloud info` knows the root."""
    launcher = executable(tmp_path / "elsewhere" / emulators.PUBSUB_EMULATOR_IN_SDK)
    executable(
        tmp_path / "path" / "gcloud",
        f'#!/bin/sh\n[ "$1 $2" = "info --format=value(installation.sdk_root)" ] && echo {tmp_path / "elsewhere"}\n',
    )
    assert emulators.find_pubsub_emulator() == launcher


def test_an_explicit_launcher_wins_and_a_wrong_one_is_named(tmp_path, monkeypatch):
    executable(tmp_path / "path" / "cloud-pubsub-emulator")
    mine = executable(tmp_path / "mine" / "emulator")
    monkeypatch.setenv("PUBSUB_EMULATOR_BIN", str(mine))
    assert emulators.find_pubsub_emulator() == mine
    emulators.find_pubsub_emulator.cache_clear()
    monkeypatch.setenv("PUBSUB_EMULATOR_BIN", str(tmp_path / "nope"))
    with pytest.raises(emulators.EmulatorError, match=r"PUBSUB_EMULATOR_BIN=.*nope is not an executable"):
        emulators.find_pubsub_emulator()


def test_free_ports_are_never_given_to_two_processes_nor_taken_by_outgoing_connections():
    """pytest's two workers start servers side by side: a port one of them holds is not given to
    the other, and none is in the kernel's range for outgoing connections' local ports."""
    mine = {free_port() for _ in range(300)}
    theirs = subprocess.run(
        [sys.executable, "-c", "from local.servers import free_port; print(*[free_port() for _ in range(300)])"],
        cwd=emulators.ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(mine) == 300 and len(set(theirs)) == 300
    assert not mine & {int(port) for port in theirs}
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert max(mine) < ephemeral_low
