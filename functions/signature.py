"""Checks that a request really comes from DT and that its body is intact.

DT signs each request with a JWT whose claims carry a checksum of the body:
- `X-Dt-Signature`: HS256 with the connector's shared secret; claims `checksum_sha256`
  (since 2022) and/or the legacy SHA-1 `checksum`, `iat`, `exp`.
- `DT-Asymmetric-Signature`: ES256 with DT's key (found by `kid` in DT's JWKS); claims
  `checksum_sha256`, `iat`, `exp`, `iss`, `sub` (the DT organization id).
Every configured scheme whose header is present must pass, and at least one must be present.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from .config import IngestConfig
from .errors import InvalidSignature, Unavailable

SHARED_SECRET_HEADER = "X-Dt-Signature"  # noqa: S105 (a header name, not a secret)
ASYMMETRIC_HEADER = "DT-Asymmetric-Signature"
_MAX_TOKEN_LENGTH = 8192

Clock = Callable[[], float]


def _checksum_matches(claims: Mapping[str, Any], body: bytes) -> None:
    """Compare the token's body checksum with the bytes received (SHA-256, else legacy SHA-1)."""
    if "checksum_sha256" in claims:
        expected, actual = claims["checksum_sha256"], hashlib.sha256(body).hexdigest()
    elif "checksum" in claims:
        expected, actual = claims["checksum"], hashlib.sha1(body).hexdigest()  # noqa: S324 (DT's legacy checksum, inside an HS256 token)
    else:
        raise InvalidSignature("the signature token has no body checksum claim")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.lower(), actual):
        raise InvalidSignature("the body does not match the signature's checksum")


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    """Require `exp` in the future and `iat`/`nbf`, when present, not in the future."""
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise InvalidSignature("the signature token has no valid exp claim")
    if exp + leeway < now:
        raise InvalidSignature("the signature token has expired")
    for claim in ("iat", "nbf"):
        value = claims.get(claim)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidSignature(f"the signature token's {claim} claim is not a number")
        if value - leeway > now:
            raise InvalidSignature(f"the signature token is not valid yet ({claim} is in the future)")


def _single_header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    """The one value of header `name` (any letter case), or None; several values are refused."""
    if hasattr(headers, "getlist"):  # werkzeug's Headers: case-insensitive, repeatable
        values = headers.getlist(name)
    else:
        values = [value for key, value in headers.items() if key.lower() == name.lower()]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidSignature(f"the request has more than one {name} header")
    token = values[0].strip()
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise InvalidSignature(f"the {name} header is empty or too long")
    return token


class SharedSecretVerifier:
    """HS256 tokens signed with the connector's secret; accepts the previous secret during rotation."""

    def __init__(self, secrets: tuple[str, ...], leeway: float, clock: Clock = time.time) -> None:
        self._secrets = [secret.encode() for secret in secrets]
        self._leeway = leeway
        self._clock = clock

    def verify(self, token: str, body: bytes) -> None:
        claims = None
        for secret in self._secrets:
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=["HS256"],
                    options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as error:
                raise InvalidSignature(f"the {SHARED_SECRET_HEADER} token is malformed: {error}") from None
        if claims is None:
            raise InvalidSignature(
                f"the {SHARED_SECRET_HEADER} token was not signed with the connector's secret"
            )
        _check_times(claims, self._clock(), self._leeway)
        _checksum_matches(claims, body)


# After DT rotates its signing key, a token may name a `kid` our cached JWKS lacks: refetch the
# JWKS then, but at most once per this many seconds (unknown kids are free for anyone to send).
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0


class _DiscoveredJwksClient:
    """DT's JWKS, found through the OIDC discovery document once, cached by PyJWKClient.

    A `kid` missing from the cached keys triggers one refetch; if a refetch happened less than
    `JWKS_REFRESH_COOLDOWN_SECONDS` ago, the answer is `Unavailable` (503: DT retries later)
    rather than a 401, so a genuine event signed with a freshly rotated key is never refused.
    Only a `kid` still unknown right after a refetch is an invalid signature.
    """

    def __init__(self, jwks_url: str | None, discovery_url: str) -> None:
        self._jwks_url = jwks_url
        self._discovery_url = discovery_url
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._last_refresh: float | None = None  # time.monotonic() of the last refetch for a kid

    def _resolve(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self._jwks_url
                if url is None:
                    with urllib.request.urlopen(self._discovery_url, timeout=5) as answer:  # noqa: S310 (https URL from config)
                        url = json.load(answer)["jwks_uri"]
                self._client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=3600, timeout=5)
            return self._client

    def _key_by_id(self, kid: str) -> Any:
        client = self._resolve()
        key = client.match_kid(client.get_signing_keys(), kid)
        if key is not None:
            return key.key
        with self._lock:
            now = time.monotonic()
            last = self._last_refresh
            if last is not None and now - last < JWKS_REFRESH_COOLDOWN_SECONDS:
                raise Unavailable(
                    f"the {ASYMMETRIC_HEADER} token names DT key {kid[:64]!r}, not among DT's keys fetched "
                    f"{now - last:.0f} s ago; retry later (DT may have rotated its keys)"
                )
            self._last_refresh = now
        key = client.match_kid(client.get_signing_keys(refresh=True), kid)
        if key is None:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token names no known DT key ({kid[:64]!r})")
        return key.key

    def key_for(self, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token has no kid header")
            return self._key_by_id(kid)
        except jwt.PyJWKClientConnectionError as error:
            raise Unavailable(f"DT's signing keys could not be fetched: {error}") from None
        except (OSError, ValueError, KeyError) as error:
            raise Unavailable(f"DT's signing keys could not be fetched: {error}") from None
        except jwt.PyJWKClientError as error:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token names no known DT key: {error}") from None
        except jwt.PyJWTError as error:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is malformed: {error}") from None


class AsymmetricVerifier:
    """ES256 tokens signed by DT, for one DT organization (the `sub` claim)."""

    def __init__(self, config: IngestConfig, clock: Clock = time.time) -> None:
        assert config.organization_id is not None
        self._organization_id = config.organization_id
        self._issuer = config.issuer
        self._leeway = config.clock_leeway_seconds
        self._keys = _DiscoveredJwksClient(config.jwks_url, config.oidc_discovery_url)
        self._clock = clock

    def _check_claims(self, claims: Mapping[str, Any], body: bytes) -> None:
        """Issuer, DT organization (`sub`), times and body checksum."""
        if claims.get("iss") != self._issuer:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token's issuer (iss) is not DT's")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not hmac.compare_digest(sub.encode(), self._organization_id.encode()):
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is for another DT organization")
        _check_times(claims, self._clock(), self._leeway)
        _checksum_matches(claims, body)

    def verify(self, token: str, body: bytes) -> None:
        try:
            if jwt.get_unverified_header(token).get("alg") != "ES256":
                raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is not signed with ES256")
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is malformed: {error}") from None
        # What is wrong whatever the key is refused first: it costs no fetch of DT's keys, and only
        # a token that could be genuine is told to retry later when its key is not known yet.
        self._check_claims(unverified, body)
        key = self._keys.key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as error:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is invalid: {error}") from None
        self._check_claims(claims, body)


class RequestVerifier:
    """Runs every configured scheme whose header is present; one at least must be present."""

    def __init__(self, config: IngestConfig, clock: Clock = time.time) -> None:
        self._schemes: list[tuple[str, SharedSecretVerifier | AsymmetricVerifier]] = []
        if config.signature_secrets:
            self._schemes.append(
                (
                    SHARED_SECRET_HEADER,
                    SharedSecretVerifier(config.signature_secrets, config.clock_leeway_seconds, clock),
                )
            )
        if config.organization_id:
            self._schemes.append((ASYMMETRIC_HEADER, AsymmetricVerifier(config, clock)))

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        checked = 0
        for header, verifier in self._schemes:
            token = _single_header(headers, header)
            if token is not None:
                verifier.verify(token, body)
                checked += 1
        if not checked:
            expected = " or ".join(header for header, _ in self._schemes)
            raise InvalidSignature(f"the request has no {expected} header")
