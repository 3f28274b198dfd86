"""The signature verifier on DT's real captured requests, with a controllable clock.

These tokens expired years ago, so the clock is set to just after each was issued.
"""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from functions.config import IngestConfig
from functions.errors import ConfigError, InvalidSignature
from functions.signature import RequestVerifier
from tests.conftest import SHARED_DT

VECTORS = json.loads((SHARED_DT / "signature-vectors" / "vectors.json").read_text())


def verifier_at(moment: float, secret: str = "test-secret", previous: str = "") -> RequestVerifier:
    env = {
        "PUBSUB_TOPIC": "projects/p/topics/events",
        "DT_SIGNATURE_SECRET": secret,
        "DT_SIGNATURE_SECRET_PREVIOUS": previous,
    }
    return RequestVerifier(IngestConfig.from_env(env), clock=lambda: moment)


def issued_at(token: str) -> float:
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims.get("iat", claims["exp"] - 3600))


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["source"].split("@ ")[1])
def test_every_real_dt_request_verifies_just_after_it_was_signed(vector):
    token, body = vector["header_value"], vector["body"].encode()
    verifier_at(issued_at(token) + 5).verify({vector["header_name"]: token}, body)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["source"].split("@ ")[1])
def test_every_real_dt_request_is_refused_once_its_token_expired(vector):
    token, body = vector["header_value"], vector["body"].encode()
    with pytest.raises(InvalidSignature, match="expired"):
        verifier_at(issued_at(token) + 3600 + 120).verify({vector["header_name"]: token}, body)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["source"].split("@ ")[1])
def test_every_real_dt_request_is_refused_with_a_single_byte_changed(vector):
    token, body = vector["header_value"], vector["body"].encode()
    with pytest.raises(InvalidSignature, match="does not match"):
        verifier_at(issued_at(token) + 5).verify(
            {"X-Dt-Signature": token}, body.replace(b'"eventId":"c', b'"eventId":"d', 1)
        )


def test_a_real_dt_token_verifies_with_the_secret_as_previous_during_rotation():
    vector = VECTORS[-1]
    token = vector["header_value"]
    verifier = verifier_at(issued_at(token) + 5, secret="the-new-secret", previous="test-secret")
    verifier.verify({"x-dt-signature": token}, vector["body"].encode())


def test_a_token_issued_in_the_future_is_refused():
    vector = VECTORS[-1]
    token = vector["header_value"]
    with pytest.raises(InvalidSignature, match="not valid yet"):
        verifier_at(issued_at(token) - 600).verify({"X-Dt-Signature": token}, vector["body"].encode())


def test_the_real_files_match_the_vectors():
    """The .body/.x-dt-signature files and vectors.json describe the same requests."""
    folder = SHARED_DT / "signature-vectors"
    for body_file in folder.glob("*.body"):
        token = Path(str(body_file).replace(".body", ".x-dt-signature")).read_text().strip()
        verifier_at(issued_at(token) + 5).verify({"X-Dt-Signature": token}, body_file.read_bytes())


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"DT_SIGNATURE_SECRET": "s"}, "PUBSUB_TOPIC is not set"),
        ({"PUBSUB_TOPIC": "events", "DT_SIGNATURE_SECRET": "s"}, "PUBSUB_TOPIC='events' is malformed"),
        ({"PUBSUB_TOPIC": "projects/p/topics/events"}, "no signature check is configured"),
        (
            {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_SIGNATURE_SECRET_PREVIOUS": "s"},
            "DT_SIGNATURE_SECRET is not",
        ),
        (
            {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_SIGNATURE_SECRET": "s", "MAX_BODY_BYTES": "x"},
            "not a number",
        ),
        (
            {
                "PUBSUB_TOPIC": "projects/p/topics/events",
                "DT_ORGANIZATION_ID": "o",
                "DT_JWKS_URL": "file:///etc/passwd",
            },
            "not an http",
        ),
    ],
)
def test_a_bad_configuration_fails_with_a_message_naming_the_variable(env, words):
    with pytest.raises(ConfigError, match=words):
        IngestConfig.from_env(env)
