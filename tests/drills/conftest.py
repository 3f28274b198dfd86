"""One pipeline for all the drills (its own emulators, outage proxies in front of them),
warmed up with ~1,000 requests (500 events, 500 forged) before the first drill so its RSS can be compared afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from local.dt_signing import AsymmetricSigner
from local.pipeline import Pipeline, PipelineSettings
from local.servers import free_port
from tests.conftest import ORGANIZATION_ID, SECRET
from tests.drills.helpers import fleet_bodies, send_burst

WARM_UP_EVENTS = 1_000
# The DT signing key of the drills (the JWKS the drill pipeline serves).
SIGNER = AsymmetricSigner(organization_id=ORGANIZATION_ID)


@dataclass
class Drill:
    pipeline: Pipeline
    signer: AsymmetricSigner
    rss_after_warm_up: int = 0
    dead_letters: list = field(default_factory=list)  # every dead letter drained so far
    state: dict = field(default_factory=dict)  # what a drill leaves for a later test


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
        "extra_ingest_env": {"PUBLISH_TIMEOUT_SECONDS": "2"},
        "extra_route_env": {
            "BIGQUERY_TIMEOUT_SECONDS": "10"
        },  # 3 s timed out calls that succeeded on a loaded machine
    }
    return PipelineSettings(**(values | overrides))


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
