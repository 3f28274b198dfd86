"""One pipeline for all the drills (its own emulators, outage proxies in front of them),
warmed up with ~1,000 requests (500 events, 500 forged) before the first drill so its RSS can be compared afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from local.dt_signing import AsymmetricSigner
from local.pipeline import Pipeline, PipelineSettings
from local.servers import free_port
from tests.support.drills import fleet_bodies
from tests.support.dt import ORGANIZATION_ID, SECRET
from tests.support.senders import Burst, send_burst

WARM_UP_EVENTS = 1_000
# The order the drills run in (files are named by drill number): drill 1's burst lands while the
# hostile-input drill runs, then its landing is checked; the aftermath scans what all left behind.
ORDER = (
    "test_1_ingest_outage.py",
    "test_3_hostile_input.py",
    "test_1_ingest_outage_landed.py",
    "test_2_router_outage.py",
    "test_2d_2e_bigquery_slow.py",
    "test_4_5_aftermath.py",
)
# The DT signing key of the drills (the JWKS the drill pipeline serves).
SIGNER = AsymmetricSigner(organization_id=ORGANIZATION_ID)


@dataclass
class Drill:
    pipeline: Pipeline
    signer: AsymmetricSigner
    rss_after_warm_up: int = 0
    dead_letters: list = field(default_factory=list)  # every dead letter drained so far


def drill_settings(signer: AsymmetricSigner, **overrides: object) -> PipelineSettings:
    values: dict = {
        "ingest_port": free_port(),
        "route_port": free_port(),
        "pubsub_port": free_port(),
        "bigquery_port": free_port(),
        "bigquery_grpc_port": free_port(),
        "signature_secret": SECRET,
        "organization_id": ORGANIZATION_ID,
        "jwks": signer.jwks(),
        "outage_proxies": True,
        "max_delivery_attempts": 30,
        "router": "function",  # whatever $ROUTER says: drill 4 runs through each router itself
        "extra_ingest_env": {"PUBLISH_TIMEOUT_SECONDS": "2"},
        "extra_route_env": {
            "BIGQUERY_TIMEOUT_SECONDS": "10"
        },  # 3 s timed out calls that succeeded on a loaded machine
    }
    return PipelineSettings(**(values | overrides))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the drills in ORDER, each file's tests in their own order, in the places the drills
    were collected at (the other tests keep theirs)."""
    slots = [index for index, item in enumerate(items) if item.path.name in ORDER]
    drills = sorted((items[index] for index in slots), key=lambda item: ORDER.index(item.path.name))
    for index, item in zip(slots, drills, strict=True):
        items[index] = item


@pytest.fixture(scope="package")
def drill() -> Iterator[Drill]:
    """The drills' own pipeline, warmed up, with the ingest's memory after warm-up."""
    signer = SIGNER
    with Pipeline(drill_settings(signer)) as pipeline:
        bodies = fleet_bodies(WARM_UP_EVENTS // 2, "drillwarmup", 1)[: WARM_UP_EVENTS // 2]
        warm = send_burst(pipeline.ingest_url, bodies, SECRET, signer)
        assert len(warm.accepted) == len(bodies), warm
        forged = send_burst(pipeline.ingest_url, bodies, "not-the-secret", None)  # refused: 401
        assert set(forged.refused.values()) == {401}, forged.refused
        assert pipeline.ingest is not None
        yield Drill(pipeline, signer, pipeline.ingest.rss_bytes())


# Drill 1: Pub/Sub cut off from `ingest` in the middle of a burst (checked by test_1_ingest_outage.py and test_1_ingest_outage_landed.py).
INGEST_OUTAGE_PROJECT = "drillingestoutage"
INGEST_OUTAGE_EVENTS = 10_000
INGEST_OUTAGE_SECONDS = 4.0


@dataclass
class IngestOutage:
    bodies: list[bytes]
    burst: Burst
    sent_at: float  # time.monotonic() when the last answer came


@pytest.fixture(scope="package")
def ingest_outage(drill: Drill) -> IngestOutage:
    """Drill 1's burst, sent once by the first test that needs it (drill 1's check, or its
    landing check when that runs alone), with Pub/Sub cut off from `ingest` a third of the way."""
    pipeline = drill.pipeline
    bodies = fleet_bodies(INGEST_OUTAGE_EVENTS, INGEST_OUTAGE_PROJECT, seed=11)
    cut_at = len(bodies) // 3
    cut, restored = threading.Event(), threading.Event()

    def outage() -> None:
        cut.wait()
        pipeline.pubsub_proxy.stop()
        time.sleep(INGEST_OUTAGE_SECONDS)
        pipeline.pubsub_proxy.start()
        restored.set()

    def after_each(burst: Burst) -> None:
        if burst.done >= cut_at:
            cut.set()

    controller = threading.Thread(target=outage, daemon=True)
    controller.start()
    try:
        burst = send_burst(pipeline.ingest_url, bodies, SECRET, drill.signer, 16, 150, after_each)
    finally:
        cut.set()
        controller.join(timeout=30)
        if not restored.is_set():
            pipeline.pubsub_proxy.start()
    return IngestOutage(bodies, burst, time.monotonic())
