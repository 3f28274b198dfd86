"""The signature verifier: DT's real captured requests (with a controllable clock), DT's key rotation.

These tokens expired years ago, so the clock is set to just after each was issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator

import jwt
import pytest

from functions import signature
from functions.config import DT_ISSUER, IngestConfig, RouterConfig
from functions.errors import ConfigError, InvalidSignature, Unavailable
from functions.signature import RequestVerifier
from local.dt_signing import AsymmetricSigner, shared_secret_token
from local.servers import JwksServer, free_port
from tests.support.paths import DT_DATA

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


# Hostile claim values: whatever a token holds, the answer is a refusal (401), never an exception.


def raw_token(header: dict, claims_json: str, signature: bytes = b"\x01" * 64) -> str:
    """A JWT from raw JSON claims text (to carry what json.dumps would not write: lone surrogates,
    1e400, integers of hundreds of digits), with any signature bytes."""
    return ".".join(
        base64.urlsafe_b64encode(part).rstrip(b"=").decode()
        for part in (json.dumps(header).encode(), claims_json.encode(), signature)
    )


def claims_text(**overrides: str) -> str:
    """Claims of a plausible DT ES256 token for BODY, as JSON text; each override is raw JSON."""
    now = int(time.time())
    fields = {
        "iss": json.dumps(DT_ISSUER),
        "sub": json.dumps(ORGANIZATION),
        "iat": str(now),
        "exp": str(now + 300),
        "checksum_sha256": json.dumps(hashlib.sha256(BODY).hexdigest()),
    } | overrides
    return "{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in fields.items()) + "}"


HOSTILE_CLAIMS = [
    {"sub": r'"\ud800"'},
    {"iss": r'"\udfff"', "sub": r'"\ud800"'},
    {"checksum_sha256": '"é"'},
    {"checksum_sha256": r'"\ud800"'},
    {"checksum_sha256": "12"},
    {"checksum_sha256": '{"a": 1}'},
    {"sub": '"tést-org-id"'},
    {"sub": '["test-org-id"]'},
    {"exp": "1" + "0" * 400},
    {"exp": "-1" + "0" * 400},
    {"exp": "1e400"},
    {"exp": "-1e400"},
    {"exp": "NaN"},
    {"iat": "NaN"},
    {"nbf": "Infinity"},
    {"iat": "1" + "0" * 400},
    {"exp": "true"},
    {"exp": '"9999999999"'},
    {"exp": "null"},
    {"exp": "[]"},
    {"iss": "7"},
    {"iss": "null"},
]


@pytest.mark.parametrize(
    "overrides", HOSTILE_CLAIMS, ids=lambda o: ",".join(f"{k}={v[:12]}" for k, v in o.items())
)
@pytest.mark.parametrize("header", ["asymmetric", "shared"])
def test_any_claim_value_is_a_401_never_an_exception(overrides, header):
    claims = claims_text(**overrides)
    if header == "asymmetric":
        token = raw_token({"alg": "ES256", "kid": "x", "typ": "JWT"}, claims)
        # Refused before DT's keys are needed: a key server that is not there is never asked.
        verifier = asymmetric_verifier("http://127.0.0.1:9/.well-known/openid-configuration")
        headers = {"DT-Asymmetric-Signature": token}
    else:  # signed with the right secret: the claims are checked after the signature
        unsigned = raw_token({"alg": "HS256", "typ": "JWT"}, claims, b"")
        signing_input = unsigned.rsplit(".", 1)[0].encode()
        mac = hmac.new(b"test-secret", signing_input, hashlib.sha256).digest()
        token = signing_input.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        verifier = verifier_at(time.time())
        headers = {"X-Dt-Signature": token}
    if header == "shared" and set(overrides) <= {"iss", "sub", "aud"}:
        try:  # HS256 tokens are not checked for these (PyJWT refuses a sub that is no string)
            verifier.verify(headers, BODY)
        except InvalidSignature as refused:
            assert refused.status == 401
        return
    with pytest.raises(InvalidSignature) as refused:
        verifier.verify(headers, BODY)
    assert refused.value.status == 401
    assert "Error" not in refused.value.message and "Traceback" not in refused.value.message


@pytest.mark.parametrize(
    ("lifetime", "expires_in", "refusal"),
    [(300, 300, None), (3600, 3600, None), (3601, 3601, "lifetime exceeds"), (7200, 30, "lifetime exceeds")],
)
def test_a_token_living_longer_than_any_dt_token_is_refused(lifetime, expires_in, refusal):
    now = 1_000_000.0
    token = shared_secret_token(
        BODY, "test-secret", exp=int(now + expires_in), iat=int(now + expires_in - lifetime)
    )
    verifier = verifier_at(now)
    if refusal is None:
        verifier.verify({"X-Dt-Signature": token}, BODY)
    else:
        with pytest.raises(InvalidSignature, match=refusal):
            verifier.verify({"X-Dt-Signature": token}, BODY)


def test_a_token_without_iat_expiring_beyond_the_longest_lifetime_is_refused():
    now = 1_000_000.0
    body_claims = {"checksum_sha256": hashlib.sha256(BODY).hexdigest(), "exp": int(now + 3600 + LEEWAY + 5)}
    token = jwt.encode(body_claims, "test-secret", algorithm="HS256")
    with pytest.raises(InvalidSignature, match="more than 3600 s from now"):
        verifier_at(now).verify({"X-Dt-Signature": token}, BODY)


def test_an_aud_claim_is_ignored_without_dt_audience_and_checked_with_it(dt_keys):
    url = "https://europe-west1-p.cloudfunctions.net/dt-bq-ingest"
    for_us, for_another = KEY_A.token(BODY, aud=url), KEY_A.token(BODY, aud=["https://elsewhere.example"])
    asymmetric_verifier(dt_keys.discovery_url).verify({"DT-Asymmetric-Signature": for_another}, BODY)
    checking = asymmetric_verifier(dt_keys.discovery_url, DT_AUDIENCE=url)
    checking.verify({"DT-Asymmetric-Signature": for_us}, BODY)
    checking.verify(signed_by(KEY_A), BODY)  # DT's tokens carry no aud today
    for wrong in (for_another, KEY_A.token(BODY, aud={"x": 1}), KEY_A.token(BODY, aud=[7, None])):
        with pytest.raises(InvalidSignature, match="audience"):
            checking.verify({"DT-Asymmetric-Signature": wrong}, BODY)


def test_with_the_asymmetric_signature_required_the_shared_secret_alone_is_refused(dt_keys):
    verifier = asymmetric_verifier(
        dt_keys.discovery_url, DT_SIGNATURE_SECRET="test-secret", DT_REQUIRE_ASYMMETRIC_SIGNATURE="true"
    )
    shared = {"X-Dt-Signature": shared_secret_token(BODY, "test-secret")}
    with pytest.raises(InvalidSignature, match="requires"):
        verifier.verify(shared, BODY)
    verifier.verify(shared | signed_by(KEY_A), BODY)
    asymmetric_verifier(dt_keys.discovery_url, DT_SIGNATURE_SECRET="test-secret").verify(shared, BODY)
    with pytest.raises(ConfigError, match="DT_ORGANIZATION_ID"):
        IngestConfig.from_env(
            {
                "PUBSUB_TOPIC": "projects/p/topics/events",
                "DT_SIGNATURE_SECRET": "s",
                "DT_REQUIRE_ASYMMETRIC_SIGNATURE": "1",
            }
        )


# DT's key server: kept keys, one fetch at a time, junk, https, the discovery document's issuer.


def test_a_failed_refresh_keeps_the_last_good_keys_for_hours(dt_keys, monkeypatch):
    clock = [1000.0]
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    keys = verifier._schemes[0][1]._keys
    monkeypatch.setattr(keys, "_clock", lambda: clock[0])
    verifier.verify(signed_by(KEY_A), BODY)
    dt_keys.stop()
    for hours in (1.5, 6, 23):  # due for a refresh, which fails: the held keys still serve
        clock[0] = 1000.0 + hours * 3600
        verifier.verify(signed_by(KEY_A), BODY)
    with pytest.raises(Unavailable, match="retry later"):  # a kid DT might have rotated to
        verifier.verify(signed_by(KEY_B), BODY)
    verifier.verify(signed_by(KEY_A), BODY)  # the failed lookup dropped nothing
    clock[0] = 1000.0 + 25 * 3600
    with pytest.raises(Unavailable, match="could not be fetched"):  # too old to trust
        verifier.verify(signed_by(KEY_A), BODY)


@pytest.mark.parametrize(
    "junk",
    [
        [1, 2],
        {"keys": []},
        {"keys": "x"},
        {"keys": [{"kty": "EC"}]},
        {"keys": [{"kty": "oct", "k": "AA", "kid": "k"}]},
        "x",
    ],
)
def test_a_key_server_answering_junk_is_a_503_and_the_held_keys_stay(dt_keys, junk):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)
    dt_keys.jwks = junk
    with pytest.raises(Unavailable):
        verifier.verify(signed_by(KEY_B), BODY)
    verifier.verify(signed_by(KEY_A), BODY)
    fresh = asymmetric_verifier(dt_keys.discovery_url)
    with pytest.raises(Unavailable) as unavailable:
        fresh.verify(signed_by(KEY_A), BODY)
    assert unavailable.value.status == 503


def test_concurrent_requests_share_one_fetch_of_dts_keys():
    gate = threading.Event()
    server = JwksServer(KEY_A.jwks(), gate=gate).start()
    try:
        verifier = asymmetric_verifier(server.discovery_url)
        errors: list[BaseException] = []

        def verify() -> None:
            try:
                verifier.verify(signed_by(KEY_A), BODY)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=verify) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        gate.set()
        for thread in threads:
            thread.join(timeout=20)
        assert not errors
        assert server.requests == 2, "one discovery document and one JWKS for all eight"
    finally:
        gate.set()
        server.stop()


def test_unknown_kids_cannot_force_more_than_one_fetch_per_cooldown(dt_keys):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)
    fetched = dt_keys.requests
    strangers = [AsymmetricSigner(organization_id=ORGANIZATION) for _ in range(20)]
    outcomes = set()
    for stranger in strangers:
        try:
            verifier.verify(signed_by(stranger), BODY)
        except (InvalidSignature, Unavailable) as error:
            outcomes.add(error.status)
    assert dt_keys.requests == fetched + 1 and outcomes == {401, 503}


@pytest.mark.parametrize(
    ("name", "url"),
    [
        (
            "DT_OIDC_DISCOVERY_URL",
            "http://identity.disruptive-technologies.com/data-connector/.well-known/openid-configuration",
        ),
        ("DT_JWKS_URL", "http://10.0.0.1/jwks"),
        ("DT_JWKS_URL", "http://127.0.0.1.evil.example/jwks"),
        ("DT_JWKS_URL", "ftp://127.0.0.1/jwks"),
    ],
)
def test_key_urls_must_be_https_outside_loopback(name, url):
    with pytest.raises(ConfigError, match=name):
        IngestConfig.from_env(
            {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_ORGANIZATION_ID": ORGANIZATION, name: url}
        )
    for loopback in (
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://[::1]:9/x",
        "https://example.com/x",
    ):
        IngestConfig.from_env(
            {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_ORGANIZATION_ID": ORGANIZATION, name: loopback}
        )


@pytest.mark.parametrize("issuer", ["https://evil.example", None, DT_ISSUER + "/"])
def test_a_discovery_document_for_another_issuer_is_a_503(dt_keys, issuer):
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    dt_keys.issuer = issuer
    with pytest.raises(Unavailable):
        verifier.verify(signed_by(KEY_A), BODY)
    dt_keys.issuer = DT_ISSUER
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    verifier.verify(signed_by(KEY_A), BODY)


def test_a_jwks_uri_off_https_in_the_discovery_document_is_refused(monkeypatch):
    documents = {"discovery": {"issuer": DT_ISSUER, "jwks_uri": "http://dt-keys.example/jwks"}}
    monkeypatch.setattr(signature, "_get_json", lambda url: documents["discovery"])
    verifier = asymmetric_verifier("https://identity.example/.well-known/openid-configuration")
    with pytest.raises(Unavailable, match="could not be fetched"):
        verifier.verify(signed_by(KEY_A), BODY)


def test_keys_older_than_an_hour_are_refreshed_in_the_background_while_they_serve(dt_keys, monkeypatch):
    clock = [1000.0]
    verifier = asymmetric_verifier(dt_keys.discovery_url)
    keys = verifier._schemes[0][1]._keys
    monkeypatch.setattr(keys, "_clock", lambda: clock[0])
    verifier.verify(signed_by(KEY_A), BODY)
    fetched = dt_keys.requests
    dt_keys.jwks = {"keys": KEY_A.jwks()["keys"] + KEY_B.jwks()["keys"]}
    clock[0] += 2 * 3600
    verifier.verify(signed_by(KEY_A), BODY)  # served by the held keys, not waiting for the fetch
    deadline = time.monotonic() + 10
    while keys._fetched_at != clock[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dt_keys.requests == fetched + 2, "the discovery document and the JWKS, read again"
    verifier.verify(signed_by(KEY_B), BODY)
    assert dt_keys.requests == fetched + 2
