"""The signature verifier: DT's real captured requests (with a controllable clock), DT's key rotation.

These tokens expired years ago, so the clock is set to just after each was issued.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

import jwt
import pytest

from functions import signature
from functions.config import IngestConfig, RouterConfig
from functions.errors import ConfigError, InvalidSignature, Unavailable
from functions.signature import RequestVerifier
from local.dt_signing import AsymmetricSigner, shared_secret_token
from local.servers import JwksServer, free_port
from tests.conftest import DT_DATA

VECTORS = json.loads((DT_DATA / "signature-vectors" / "vectors.json").read_text())


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


LEEWAY = 60  # CLOCK_LEEWAY_SECONDS' default


@pytest.mark.parametrize(
    ("claims", "seconds_after_signing", "refusal"),
    [
        ({"exp": 1_000}, 1_000 + LEEWAY - 1, None),
        ({"exp": 1_000}, 1_000 + LEEWAY + 1, "expired"),
        ({"iat": 1_000 + LEEWAY - 1}, 1_000, None),
        ({"iat": 1_000 + LEEWAY + 1}, 1_000, "not valid yet"),
        ({"nbf": 1_000 + LEEWAY - 1}, 1_000, None),
        ({"nbf": 1_000 + LEEWAY + 1}, 1_000, "not valid yet"),
    ],
)
def test_the_clock_leeway_is_exactly_the_configured_seconds(claims, seconds_after_signing, refusal):
    body = b'{"event":{}}'
    token = shared_secret_token(body, "test-secret", issued_at=0, **{"exp": 4_000, "iat": 500} | claims)
    verifier = verifier_at(seconds_after_signing)
    if refusal is None:
        verifier.verify({"X-Dt-Signature": token}, body)
    else:
        with pytest.raises(InvalidSignature, match=refusal):
            verifier.verify({"X-Dt-Signature": token}, body)


def test_the_real_files_match_the_vectors():
    """The .body/.x-dt-signature files and vectors.json describe the same five requests."""
    folder = DT_DATA / "signature-vectors"
    expected = {}
    for vector in VECTORS:
        commit, event = re.fullmatch(r".* @ (\w+) : tests/events\.py \((\w+)\)", vector["source"]).groups()
        expected[f"{commit}_{event}"] = vector
    assert sorted(path.stem for path in folder.glob("*.body")) == sorted(expected)
    assert len(expected) == len(VECTORS) == 5
    for stem, vector in expected.items():
        body = (folder / f"{stem}.body").read_bytes()
        token = (folder / f"{stem}.x-dt-signature").read_text().strip()
        assert (body, token) == (vector["body"].encode(), vector["header_value"])
        verifier_at(issued_at(token) + 5).verify({"X-Dt-Signature": token}, body)


def test_the_real_bodies_are_the_signed_ones():
    folder = DT_DATA / "signature-vectors"
    bodies = {(folder / name).read_bytes() for name in ("5293c60_temperature.body", "5293c60_touch.body")}
    bodies.add((folder / "793f3df_touch.body").read_bytes())
    real = {path.read_bytes() for path in (DT_DATA / "real-bodies").glob("*.json")}
    assert len(real) == 3 and real == bodies


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


@pytest.mark.parametrize("config", [IngestConfig, RouterConfig])
@pytest.mark.parametrize("level", ["verbose", "10", "INFO,DEBUG"])
def test_a_bad_log_level_is_a_config_error_naming_the_variable(config, level):
    env = {
        "PUBSUB_TOPIC": "projects/p/topics/events",
        "DT_SIGNATURE_SECRET": "s",
        "BIGQUERY_DATASET": "p.dt",
        "DEAD_LETTER_TOPIC": "projects/p/topics/dead",
        "LOG_LEVEL": level,
    }
    with pytest.raises(ConfigError, match=f"LOG_LEVEL='{re.escape(level)}' is not one of DEBUG, INFO"):
        config.from_env(env)


@pytest.mark.parametrize(("level", "expected"), [("", "INFO"), ("debug", "DEBUG"), (" WARNING ", "WARNING")])
def test_a_log_level_in_any_letter_case_is_accepted(level, expected):
    env = {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_SIGNATURE_SECRET": "s", "LOG_LEVEL": level}
    assert IngestConfig.from_env(env).log_level == expected


# DT's asymmetric signature: the real captured token, and DT's signing keys (JWKS) on loopback.

DT_DEVELOPMENT_ISSUER = "https://identity.dev.disruptive-technologies.com/data-connector"
ORGANIZATION = "test-org-id"


def asymmetric_verifier(discovery_url: str, moment: float | None = None, **env: str) -> RequestVerifier:
    config = IngestConfig.from_env(
        {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_ORGANIZATION_ID": ORGANIZATION}
        | {"DT_OIDC_DISCOVERY_URL": discovery_url}
        | env
    )
    return RequestVerifier(config) if moment is None else RequestVerifier(config, clock=lambda: moment)


def test_dts_real_asymmetric_token_has_what_we_require_and_its_claims_verify_once_re_signed():
    """DT's public key for the captured token is not published: check its header and claims
    are those our verifier requires, then re-sign exactly them with our own key."""
    folder = DT_DATA / "signature-vectors"
    token = (folder / "hasfjord-81232bb_touch.dt-asymmetric-signature").read_text().strip()
    body = (folder / "5293c60_touch.body").read_bytes()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "ES256", "kid": "cp65gdon1e4bhb5icbmg", "typ": "JWT"}
    assert sorted(claims) == ["checksum_sha256", "exp", "iat", "iss", "sub"]  # no jti, no checksum
    assert claims["iss"] == DT_DEVELOPMENT_ISSUER and claims["sub"] == ORGANIZATION
    assert claims["exp"] - claims["iat"] == 300
    assert claims["checksum_sha256"] == hashlib.sha256(body).hexdigest()

    signer = AsymmetricSigner(organization_id=ORGANIZATION, kid=header["kid"])
    resigned = jwt.encode(claims, signer.private_key, algorithm="ES256", headers={"kid": header["kid"]})
    assert jwt.get_unverified_header(resigned) == header
    assert jwt.decode(resigned, options={"verify_signature": False}) == claims
    server = JwksServer(signer.jwks(), issuer=DT_DEVELOPMENT_ISSUER).start()
    try:
        at = claims["iat"] + 5
        verifier = asymmetric_verifier(server.discovery_url, at, DT_ISSUER=DT_DEVELOPMENT_ISSUER)
        verifier.verify({"dt-asymmetric-signature": resigned}, body)
        with pytest.raises(InvalidSignature, match="does not match"):
            verifier.verify({"DT-Asymmetric-Signature": resigned}, body + b" ")
        with pytest.raises(InvalidSignature, match="expired"):
            asymmetric_verifier(
                server.discovery_url, claims["exp"] + 120, DT_ISSUER=DT_DEVELOPMENT_ISSUER
            ).verify({"DT-Asymmetric-Signature": resigned}, body)
        with pytest.raises(InvalidSignature, match=r"(?i)issuer"):  # production DT's issuer is the default
            asymmetric_verifier(server.discovery_url, at).verify({"DT-Asymmetric-Signature": resigned}, body)
    finally:
        server.stop()


@pytest.fixture
def dt_keys() -> Iterator[JwksServer]:
    """DT's identity server on loopback, serving key A; tests rotate by replacing `jwks`."""
    server = JwksServer(KEY_A.jwks()).start()
    yield server
    server.stop()


KEY_A, KEY_B, KEY_C = (AsymmetricSigner(organization_id=ORGANIZATION) for _ in range(3))
BODY = (DT_DATA / "real-bodies" / "touch.json").read_bytes()


def signed_by(signer: AsymmetricSigner) -> dict[str, str]:
    return {"DT-Asymmetric-Signature": signer.token(BODY)}


def test_a_key_rotated_by_dt_right_after_start_up_is_fetched_at_once(dt_keys):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)  # the first fetch: discovery document and JWKS
    fetched = dt_keys.requests
    dt_keys.jwks = {"keys": KEY_A.jwks()["keys"] + KEY_B.jwks()["keys"]}
    verifier.verify(signed_by(KEY_B), BODY)
    assert dt_keys.requests == fetched + 1, "an unknown kid refetches the JWKS once"
    verifier.verify(signed_by(KEY_B), BODY)
    verifier.verify(signed_by(KEY_A), BODY)
    assert dt_keys.requests == fetched + 1, "known keys come from the cache"


def test_an_unknown_kid_within_the_cooldown_is_a_503_not_a_401_and_verifies_after_it(dt_keys, monkeypatch):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)
    with pytest.raises(InvalidSignature, match="no known DT key") as refused:
        verifier.verify(signed_by(KEY_C), BODY)  # refetched: C is not DT's key (yet)
    assert refused.value.status == 401
    dt_keys.jwks = {"keys": KEY_A.jwks()["keys"] + KEY_C.jwks()["keys"]}  # DT rotates to C
    fetched = dt_keys.requests
    for _ in range(3):  # DT retries: each gets a 503 until the cooldown ends, not a refetch each
        with pytest.raises(Unavailable, match="retry later") as unavailable:
            verifier.verify(signed_by(KEY_C), BODY)
        assert unavailable.value.status == 503 and unavailable.value.headers["Retry-After"]
    assert dt_keys.requests == fetched
    monkeypatch.setattr(signature, "JWKS_REFRESH_COOLDOWN_SECONDS", 0.0)  # the cooldown is over
    verifier.verify(signed_by(KEY_C), BODY)
    assert dt_keys.requests == fetched + 1


def test_dts_key_server_unreachable_is_a_503():
    verifier = asymmetric_verifier(f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration")
    for _ in range(2):  # nothing cached: each request tries again
        with pytest.raises(Unavailable, match="DT's signing keys could not be fetched") as unavailable:
            verifier.verify(signed_by(KEY_A), BODY)
        assert unavailable.value.status == 503


def test_dts_key_server_going_down_after_a_rotation_is_a_503(dt_keys):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)
    dt_keys.stop()
    verifier.verify(signed_by(KEY_A), BODY)  # cached
    with pytest.raises(Unavailable, match="could not be fetched"):
        verifier.verify(signed_by(KEY_B), BODY)


def test_a_token_wrong_whatever_its_key_is_refused_without_fetching_dts_keys(dt_keys):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)
    fetched = dt_keys.requests
    stranger = AsymmetricSigner(organization_id="another-organization")
    with pytest.raises(InvalidSignature, match="does not match"):
        verifier.verify(signed_by(KEY_C), BODY + b" ")
    with pytest.raises(InvalidSignature, match="another DT organization"):
        verifier.verify(signed_by(stranger), BODY)
    with pytest.raises(InvalidSignature, match="expired"):
        verifier.verify({"DT-Asymmetric-Signature": KEY_C.token(BODY, issued_at=0)}, BODY)
    assert dt_keys.requests == fetched
