"""`./run report`: built from a fleet's data through the real pipeline, opened in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from dt_bigquery_ops import cli
from local import bigquery_setup
from local.fleet import run_fleet
from local.servers import free_port
from tests.support.bigquery import wait_for_rows
from tests.support.dt import SECRET
from tests.support.fake_dt_api import FakeDtApi
from tests.support.paths import ROOT

DT_PROJECT = "c0md3mm0c7pet3vico8g"
CHARTS = ("temperature", "humidity", "co2", "events-per-hour", "silent-devices", "dead-letters", "connectors")

# Opens the report in a same-origin frame and measures, in the browser, what each chart drew.
CHECK_PAGE = """<!DOCTYPE html><html><body>
<iframe id="report" src="report.html" width="1000" height="1000"></iframe><pre id="out">not loaded</pre>
<script>
document.getElementById("report").onload = function () {
  const doc = this.contentDocument;
  const charts = [...doc.querySelectorAll("figure.chart")].map(function (figure) {
    const svg = figure.querySelector("svg");
    const marks = svg ? [...svg.querySelectorAll(".role-mark > *")] : [];
    const drawn = marks.filter(function (mark) {
      const box = mark.getBBox();
      return box.width > 0 || box.height > 0;
    });
    return {id: figure.id, marks: marks.length, drawn: drawn.length,
            width: svg ? svg.getBoundingClientRect().width : 0};
  });
  document.getElementById("out").textContent = JSON.stringify(charts);
};
</script></body></html>
"""


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Chromium is missing: `./run test` installs it (Debian package chromium)"
    return path


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def fleet_data(pipeline, signer) -> str:
    """A simulated fleet, as `./run demo` sends it, plus one message the router must dead-letter."""
    report = run_fleet(pipeline.ingest_url, SECRET, signer, 1, 6, 24.0, 0.0, 8)
    assert report.accepted_ids and not report.refused
    pipeline.publisher.publish(pipeline.topic_path, b"not a DT event", source="webhook").result(timeout=30)
    wait_for_rows(
        pipeline,
        f"SELECT event_id FROM {{dataset}}.events WHERE event_id IN UNNEST({json.dumps(sorted(report.accepted_ids))})",
        len(report.accepted_ids),
        timeout=120,
    )
    return f"{pipeline.settings.project}.{pipeline.settings.dataset}"


@pytest.fixture
def fake_dt() -> Iterator[FakeDtApi]:
    fake = FakeDtApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The folder served on loopback, so that the check page may read the report's frame."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.timeout(400)
def test_report_draws_every_chart_with_data_and_opens_offline_in_chromium(
    pipeline, fleet_data, fake_dt, served, tmp_path
):
    fake_dt.project(DT_PROJECT).connectors["c1"] = {
        "name": f"projects/{DT_PROJECT}/dataconnectors/c1", "displayName": "bigquery", "type": "HTTP_PUSH",
        "status": "ACTIVE", "httpConfig": {"url": "https://europe-west1-p.cloudfunctions.net/ingest"},
    }  # fmt: skip
    fake_dt.project(DT_PROJECT).metrics["c1"] = {"successCount": 120, "errorCount": 3, "latency99p": "0.4s"}
    report_path = tmp_path / "report.html"
    env = os.environ | fake_dt.env() | {
        "BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint,
        "PUBSUB_EMULATOR_HOST": pipeline.pubsub.host,
        "DEAD_LETTER_SUBSCRIPTION": pipeline.dead_letter_subscription_path,
    }  # fmt: skip
    command = [sys.executable, "-m", "dt_bigquery_ops", "report", "--dataset", fleet_data, "--output", str(report_path),
               "--dt-project", DT_PROJECT, "--progress"]  # fmt: skip
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(report_path.resolve())
    assert "connecting to BigQuery" in result.stderr and "100%" in result.stderr, "a progress line"

    page = report_path.read_text()
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|@import|url\(", page), "nothing to fetch"
    assert page.count("<svg") == len(CHARTS)

    (tmp_path / "check.html").write_text(CHECK_PAGE)
    dom = headless("--virtual-time-budget=10000", "--dump-dom", f"{served}/check.html").stdout
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, dom[-2000:]
    charts = {chart["id"]: chart for chart in json.loads(found.group(1).replace("&quot;", '"'))}
    assert set(charts) == set(CHARTS)
    for chart in charts.values():
        assert chart["drawn"] > 0 and chart["width"] > 300, chart

    screenshot = tmp_path / "report.png"
    headless("--window-size=1000,2400", f"--screenshot={screenshot}", report_path.as_uri())
    with Image.open(screenshot) as image:
        pixels = image.convert("RGB").resize((250, 600))
        colours = pixels.getcolors(maxcolors=250 * 600) or []
    white = sum(count for count, colour in colours if min(colour) > 245)
    assert len(colours) > 50 and white < 0.97 * 250 * 600, "the screenshot shows charts, not a blank page"


def run_report(capsys, env: dict[str, str], *args: str) -> tuple[int, str]:
    code = cli.main(["report", *args, "--output", "/nonexistent/never-written.html"], env)
    return code, capsys.readouterr().err


def test_report_says_when_bigquery_is_unreachable(capsys):
    env = {"BIGQUERY_API_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    code, error = run_report(capsys, env, "--dataset", "local.dt")
    assert code == 1
    assert "BigQuery is unreachable at the emulator http://127.0.0.1:" in error


def test_report_says_when_the_dataset_does_not_exist(pipeline, capsys):
    env = {"BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint}
    code, error = run_report(capsys, env, "--dataset", "local.no_such_dataset")
    assert code == 1
    assert "the dataset local.no_such_dataset does not exist" in error


def test_report_says_when_the_dataset_has_no_events(pipeline, capsys):
    bigquery_setup.create_all(pipeline.bigquery, pipeline.settings.project, "empty_report")
    env = {"BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint}
    code, error = run_report(capsys, env, "--dataset", f"{pipeline.settings.project}.empty_report")
    assert code == 1
    assert "has no events yet: is the Data Connector sending?" in error
    assert not Path("/nonexistent/never-written.html").exists()


def test_report_says_when_the_window_holds_no_events(pipeline, fleet_data, capsys):
    env = {"BIGQUERY_API_ENDPOINT": pipeline.bigquery_endpoint}
    code, error = run_report(
        capsys, env, "--dataset", fleet_data, "--since", "2001-01-01", "--until", "2001-01-02"
    )
    assert code == 1
    assert re.search(
        r"no events in local\.dt between 2001-01-01 00:00Z and 2001-01-02 00:00Z \(it holds [\d,]+ events",
        error,
    )


def test_report_says_when_there_are_no_google_credentials(monkeypatch, capsys):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/credentials.json")
    code, error = run_report(capsys, {}, "--dataset", "my-project.dt")
    assert code == 2
    assert "no Google credentials: run `gcloud auth application-default login`" in error


def test_report_says_when_the_chart_libraries_are_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # as in an ops install without them
    code, error = run_report(capsys, {}, "--dataset", "my-project.dt")
    assert code == 2
    assert "pip install -r dt_bigquery_ops/requirements-report.txt" in error
