"""DT's signing keys as `ingest` serves them: a key rotated by DT, DT's key server down.

What DT sees over HTTP (a genuine event is never refused for a key we have not fetched yet:
503, and DT retries); the verifier's rules themselves are in test_signature.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from local.dt_signing import AsymmetricSigner
from local.servers import FunctionServer, JwksServer, free_port
from tests.support.dt import ORGANIZATION_ID, real_body
from tests.support.functions import ingest_env

BODY = real_body("touch.json")
KEY_A, KEY_B, KEY_C = (AsymmetricSigner(organization_id=ORGANIZATION_ID) for _ in range(3))


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JwksServer]:
    """This module's own DT key server (it rotates keys), used by conftest's `ingest_server`."""
    server = JwksServer(KEY_A.jwks()).start()
    yield server
    server.stop()


def post(url: str, signer: AsymmetricSigner) -> requests.Response:
    headers = {"Content-Type": "application/json", "DT-Asymmetric-Signature": signer.token(BODY)}
    return requests.post(url, data=BODY, headers=headers, timeout=30)


def test_events_signed_with_a_key_dt_rotated_to_are_accepted_or_retried_never_refused(
    ingest_server, jwks_server
):
    assert post(ingest_server.url, KEY_A).status_code == 200
    jwks_server.jwks = {"keys": KEY_A.jwks()["keys"] + KEY_B.jwks()["keys"]}  # DT rotates to B
    response = post(ingest_server.url, KEY_B)
    assert response.status_code == 200, response.text  # B unknown: refetched at once
    # Rotated again right after: within the refetch cooldown, C's events are answered 503 (DT
    # retries them), not 401, until a refetch is allowed again.
    jwks_server.jwks = {"keys": KEY_B.jwks()["keys"] + KEY_C.jwks()["keys"]}
    response = post(ingest_server.url, KEY_C)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "unavailable" and "retry later" in response.json()["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert post(ingest_server.url, KEY_B).status_code == 200


def test_dts_key_server_unreachable_is_a_503_with_retry_after(
    ingest_topic, pubsub_host, jwks_server, tmp_path
):
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"  # nothing listens
    env = ingest_env(ingest_topic[0], pubsub_host, jwks_server) | {"DT_OIDC_DISCOVERY_URL": nowhere}
    server = FunctionServer("ingest", free_port(), env, tmp_path / "ingest.log")
    server.start()
    try:
        response = post(server.url, KEY_A)
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "unavailable"
        assert "DT's signing keys could not be fetched" in response.json()["message"]
        assert int(response.headers["Retry-After"]) > 0
    finally:
        server.stop()
