"""The functions as the tests serve them: the environment `ingest` gets."""

from __future__ import annotations

from local.servers import JwksServer
from tests.support.dt import ORGANIZATION_ID, PREVIOUS_SECRET, SECRET


def ingest_env(topic: str, pubsub_host: str, jwks_server: JwksServer) -> dict[str, str]:
    return {
        "PUBSUB_EMULATOR_HOST": pubsub_host,
        "PUBSUB_TOPIC": topic,
        "DT_SIGNATURE_SECRET": SECRET,
        "DT_SIGNATURE_SECRET_PREVIOUS": PREVIOUS_SECRET,
        "DT_ORGANIZATION_ID": ORGANIZATION_ID,
        "DT_OIDC_DISCOVERY_URL": jwks_server.discovery_url,
        "PUBLISH_TIMEOUT_SECONDS": "3",
    }
