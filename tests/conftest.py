"""Shared fixtures: the real emulators, the functions served over HTTP, DT-like signing, the fake DT API.

Fixtures only: the helpers tests import live in tests/support/."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from local import emulators
from local.dt_signing import AsymmetricSigner
from local.pipeline import ROUTERS, Pipeline, PipelineSettings
from local.servers import FunctionServer, JwksServer, free_port
from tests.support.drills import DRILL_FIGURES
from tests.support.dt import ORGANIZATION_ID, SECRET
from tests.support.fake_dt_api import FakeDtApi
from tests.support.functions import ingest_env
from tests.support.pubsub import create_topic_with_subscription

SHARED_FOLDERS = frozenset({"drills", "terraform"})  # test folders whose files share one set-up
# Minutes of work each, on one worker: handed out first (see pytest_collection_modifyitems).
_LONG_GROUPS_FIRST = {"terraform": 0, "drills": 1}


FUNCTION_ROUTER = "function_router"  # the marker of tests about the route function itself


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{FUNCTION_ROUTER}: about the route function itself; not run through the BigQuery subscription",
    )


def _function_only(item: pytest.Item) -> bool:
    """A test marked function_router, given the pipeline of the other router: not collected."""
    callspec = getattr(item, "callspec", None)
    router = callspec.params.get("pipeline") if callspec is not None else None
    return item.get_closest_marker(FUNCTION_ROUTER) is not None and router not in (None, "function")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `pytest -n 2 --dist loadgroup` (./run test): the drills, which share one pipeline and
    build on each other, stay together on one worker, as do the Terraform tests (one work folder);
    every other file stays whole on one worker (its module fixtures are built once). Tests about the
    route function itself run with the function router only."""
    deselected = [item for item in items if _function_only(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not _function_only(item)]
    for item in items:
        folder = item.path.parent
        group = folder.name if folder.name in SHARED_FOLDERS else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
    # The two long groups first, one to each worker (xdist hands out groups in this order); the
    # short files then fill whichever worker is free. Stable: each group keeps its own order.
    items.sort(key=lambda item: _LONG_GROUPS_FIRST.get(item.path.parent.name, len(_LONG_GROUPS_FIRST)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The drills' figures at the end of every run, also from xdist workers (whose output is not shown)."""
    lines = [
        value
        for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed")
        for name, value in report.user_properties
        if name == DRILL_FIGURES
    ]
    if lines:
        terminalreporter.section(DRILL_FIGURES)
        for line in lines:
            terminalreporter.line(line)


def _listening(host: str) -> bool:
    address, _, port = host.rpartition(":")
    try:
        with socket.create_connection((address or "127.0.0.1", int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="session", autouse=True)
def pubsub_emulator_host_restored() -> Iterator[None]:
    """After all the tests, PUBSUB_EMULATOR_HOST is what it was before them."""
    before = os.environ.get("PUBSUB_EMULATOR_HOST")
    yield
    after = os.environ.get("PUBSUB_EMULATOR_HOST")
    assert after == before, f"the tests left PUBSUB_EMULATOR_HOST={after!r} (it was {before!r})"


@pytest.fixture(scope="module", autouse=True)
def pubsub_emulator_host_not_left_dangling() -> Iterator[None]:
    """No test module leaves PUBSUB_EMULATOR_HOST changed to where nothing listens (a stopped
    emulator): the next Pub/Sub client would fail there, far from the cause."""
    before = os.environ.get("PUBSUB_EMULATOR_HOST")
    yield
    after = os.environ.get("PUBSUB_EMULATOR_HOST")
    if after is not None and after != before and not _listening(after):
        pytest.fail(f"PUBSUB_EMULATOR_HOST was left at {after}, where nothing listens (it was {before!r})")


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulators.PubSubEmulator]:
    """The Pub/Sub emulator alone, for the ingest tests (the pipeline fixture has its own)."""
    with emulators.running(free_port(), bigquery=False, work_dir=tmp_path_factory.mktemp("emulators")) as (
        pubsub,
        _,
    ):
        yield pubsub


@pytest.fixture(scope="session")
def pubsub_host(pubsub_emulator: emulators.PubSubEmulator, monkeypatch_session: pytest.MonkeyPatch) -> str:
    monkeypatch_session.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    return pubsub_emulator.host


@pytest.fixture(scope="session")
def monkeypatch_session() -> Iterator[pytest.MonkeyPatch]:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(scope="session")
def publisher(pubsub_host: str) -> pubsub_v1.PublisherClient:
    return pubsub_v1.PublisherClient()


@pytest.fixture(scope="session")
def subscriber(pubsub_host: str) -> Iterator[pubsub_v1.SubscriberClient]:
    client = pubsub_v1.SubscriberClient()
    yield client
    client.close()


@pytest.fixture(scope="session")
def signer() -> AsymmetricSigner:
    return AsymmetricSigner(organization_id=ORGANIZATION_ID)


@pytest.fixture(scope="session")
def jwks_server(signer: AsymmetricSigner) -> Iterator[JwksServer]:
    server = JwksServer(signer.jwks()).start()
    yield server
    server.stop()


@pytest.fixture
def fake_dt() -> Iterator[FakeDtApi]:
    """DT's REST API and token endpoint on loopback, small pages so that paging is exercised."""
    fake = FakeDtApi(event_page_size=3, device_page_size=2).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of every served function's output, scanned for leaked secrets."""
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="module")
def ingest_topic(publisher, subscriber, request) -> tuple[str, str]:
    return create_topic_with_subscription(
        publisher, subscriber, f"ingest-{request.module.__name__.split('.')[-1]}"
    )


@pytest.fixture(scope="module")
def ingest_server(ingest_topic, pubsub_host, jwks_server, server_logs) -> Iterator[FunctionServer]:
    server = FunctionServer(
        "ingest",
        free_port(),
        ingest_env(ingest_topic[0], pubsub_host, jwks_server),
        server_logs / "ingest.log",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=ROUTERS)
def pipeline(signer: AsymmetricSigner, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    """The whole local pipeline (emulators, topics, tables, ingest and the router) on free ports, once
    per router: the route function, and the BigQuery subscription (its stand-in, with the transform)."""
    settings = PipelineSettings(
        router=request.param,
        ingest_port=free_port(),
        route_port=free_port(),
        pubsub_port=free_port(),
        bigquery_port=free_port(),
        bigquery_grpc_port=free_port(),
        signature_secret=SECRET,
        organization_id=ORGANIZATION_ID,
        jwks=signer.jwks(),
        extra_route_env={"BIGQUERY_TIMEOUT_SECONDS": "3"},
        max_delivery_attempts=30,  # outage tests must not exhaust the attempts
        outage_proxies=True,  # tests cut the functions off from the emulators
    )
    with Pipeline(settings) as running:
        yield running
