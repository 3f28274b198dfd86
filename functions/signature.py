"""Checks that a request really comes from DT and that its body is intact.

DT signs each request with a JWT whose claims carry a checksum of the body:
- `X-Dt-Signature`: HS256 with the connector's shared secret; claims `checksum_sha256`
  (since 2022) and/or the legacy SHA-1 `checksum`, `iat`, `exp`.
- `DT-Asymmetric-Signature`: ES256 with DT's key (found by `kid` in DT's JWKS); claims
  `checksum_sha256`, `iat`, `exp`, `iss`, `sub` (the DT organization id).
Every configured scheme whose header is present must pass, and at least one must be present
(`DT-Asymmetric-Signature` always, with DT_REQUIRE_ASYMMETRIC_SIGNATURE).

Every claim is the sender's choice until the signature is checked, so any value of any type
is a refusal (401), never an exception; answers name the problem in our words, never a
library's. Only DT's key server being out of reach is a 503 (DT retries).
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

from . import logs
from .config import IngestConfig, is_secure_url
from .errors import IngestError, InvalidSignature, Unavailable

SHARED_SECRET_HEADER = "X-Dt-Signature"  # noqa: S105 (a header name, not a secret)
ASYMMETRIC_HEADER = "DT-Asymmetric-Signature"
_MAX_TOKEN_LENGTH = 8192
# DT's tokens live 300 s (ES256) or 3600 s (HS256); a longer one is no DT token, and a stolen
# one must not be replayable for longer than that.
MAX_TOKEN_LIFETIME_SECONDS = 3600
_LATEST_TIME = 2**40  # seconds since 1970 (year 36812): a time claim beyond is no time

Clock = Callable[[], float]


def _checksum_matches(claims: Mapping[str, Any], body: bytes) -> None:
    """Compare the token's body checksum with the bytes received (SHA-256, else legacy SHA-1)."""
    if "checksum_sha256" in claims:
        expected, actual = claims["checksum_sha256"], hashlib.sha256(body).hexdigest()
    elif "checksum" in claims:
        expected, actual = claims["checksum"], hashlib.sha1(body).hexdigest()  # noqa: S324 (DT's legacy checksum, inside an HS256 token)
    else:
        raise InvalidSignature("the signature token has no body checksum claim")
    if (
        not isinstance(expected, str)
        or not expected.isascii()
        or not hmac.compare_digest(expected.lower(), actual)
    ):
        raise InvalidSignature("the body does not match the signature's checksum")


def _time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    """A time claim as seconds since 1970, None when absent; anything but a sane number refuses."""
    value = claims.get(name)
    if value is None:
        return None
    # NaN and infinities fail the range test; a huge integer is compared, never converted.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _LATEST_TIME:
        raise InvalidSignature(f"the signature token's {name} claim is not a valid time")
    return float(value)


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    """`exp` in the future but within the longest lifetime; `iat`/`nbf`, when present, not in the future."""
    exp = _time_claim(claims, "exp")
    if exp is None:
        raise InvalidSignature("the signature token has no valid exp claim")
    if exp + leeway < now:
        raise InvalidSignature("the signature token has expired")
    for claim in ("iat", "nbf"):
        value = _time_claim(claims, claim)
        if value is None:
            continue
        if value - leeway > now:
            raise InvalidSignature(f"the signature token is not valid yet ({claim} is in the future)")
    issued = _time_claim(claims, "iat")
    if issued is not None and exp - issued > MAX_TOKEN_LIFETIME_SECONDS:
        raise InvalidSignature(f"the signature token's lifetime exceeds {MAX_TOKEN_LIFETIME_SECONDS} s")
    if exp - now > MAX_TOKEN_LIFETIME_SECONDS + leeway:
        raise InvalidSignature(
            f"the signature token expires more than {MAX_TOKEN_LIFETIME_SECONDS} s from now (no DT token does)"
        )


def _check_audience(claims: Mapping[str, Any], audience: str | None) -> None:
    """An `aud` claim, when the token has one and DT_AUDIENCE is set, must name this function.

    DT's tokens carry no `aud` today: without DT_AUDIENCE it is ignored, so DT adding one does
    not refuse every event; with it, a token DT made for another receiver is refused here.
    """
    if audience is None or "aud" not in claims:
        return
    value = claims["aud"]
    audiences = value if isinstance(value, list) else [value]
    if not any(isinstance(item, str) and item == audience for item in audiences):
        raise InvalidSignature("the signature token's audience (aud) is not this function")


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


def _refusing_anything_unexpected(header: str, check: Callable[[], None]) -> None:
    """Run `check`; whatever it raises that is not already an answer is a refusal (401)."""
    try:
        check()
    except IngestError:
        raise
    except Exception:
        raise InvalidSignature(f"the {header} token is malformed") from None


_DECODE_OPTIONS: jwt.types.Options = {
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_aud": False,
}


class SharedSecretVerifier:
    """HS256 tokens signed with the connector's secret; accepts the previous secret during rotation."""

    def __init__(
        self, secrets: tuple[str, ...], leeway: float, clock: Clock = time.time, audience: str | None = None
    ) -> None:
        self._secrets = [secret.encode() for secret in secrets]
        self._leeway = leeway
        self._clock = clock
        self._audience = audience

    def verify(self, token: str, body: bytes) -> None:
        _refusing_anything_unexpected(SHARED_SECRET_HEADER, lambda: self._verify(token, body))

    def _verify(self, token: str, body: bytes) -> None:
        claims = None
        for secret in self._secrets:
            try:
                claims = jwt.decode(token, secret, algorithms=["HS256"], options=_DECODE_OPTIONS)
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                raise InvalidSignature(f"the {SHARED_SECRET_HEADER} token is malformed") from None
        if claims is None:
            raise InvalidSignature(
                f"the {SHARED_SECRET_HEADER} token was not signed with the connector's secret"
            )
        _check_times(claims, self._clock(), self._leeway)
        _check_audience(claims, self._audience)
        _checksum_matches(claims, body)


# DT's keys: fetched again after KEYS_FRESH_SECONDS (in the background while the old ones serve),
# served for up to KEYS_STALE_SECONDS while DT's key server fails, and never dropped for a
# failed or junk answer. A `kid` the keys lack (DT rotated) refetches them at most once per
# JWKS_REFRESH_COOLDOWN_SECONDS: unknown kids are free for anyone to send.
KEYS_FRESH_SECONDS = 3600.0
KEYS_STALE_SECONDS = 24 * 3600.0
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0
# After a failed fetch, the next waits at least this long: with no keys held (requests wait for
# them), or with keys still serving (a refetch in the background; each failure logs a warning).
KEYS_RETRY_SECONDS = 5.0
KEYS_RETRY_WHILE_HELD_SECONDS = 60.0
_FETCH_TIMEOUT_SECONDS = 5.0
_MAX_DOCUMENT_BYTES = 1_048_576


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off https or off DT's host: it is a failed fetch instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _get_json(url: str) -> Any:
    with _OPENER.open(url, timeout=_FETCH_TIMEOUT_SECONDS) as answer:
        data = answer.read(_MAX_DOCUMENT_BYTES + 1)
    if len(data) > _MAX_DOCUMENT_BYTES:
        raise ValueError(f"{url} answered more than {_MAX_DOCUMENT_BYTES} bytes")
    return json.loads(data)


class _DtKeys:
    """DT's ES256 public keys by `kid`, found through the OIDC discovery document (or DT_JWKS_URL).

    One fetch at a time; every other request serves the last good keys meanwhile, or, with none
    yet, waits for that fetch. Only a `kid` still unknown right after a successful fetch is an
    invalid signature; any other failure to find a key is `Unavailable` (503: DT retries later),
    so a genuine event signed with a freshly rotated key is never refused.
    """

    def __init__(
        self, jwks_url: str | None, discovery_url: str, issuer: str, clock: Clock = time.monotonic
    ) -> None:
        self._jwks_url = jwks_url
        self._discovery_url = discovery_url
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()  # held by the one fetch in progress
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # clock() of the last successful fetch
        self._attempted_at: float | None = None  # clock() of the last fetch, whatever its outcome
        self._on_demand_at: float | None = None  # clock() of the last fetch for an unknown kid
        self._failed = False  # whether the last fetch failed
        self._discovered: str | None = None  # the discovery document's jwks_uri

    def _jwks_uri(self, rediscover: bool) -> str:
        """DT_JWKS_URL, else the discovery document's `jwks_uri`, read again on each periodic fetch."""
        if self._jwks_url is not None:
            return self._jwks_url
        if self._discovered is not None and not rediscover:
            return self._discovered
        document = _get_json(self._discovery_url)
        if not isinstance(document, dict) or document.get("issuer") != self._issuer:
            raise ValueError(
                f"the discovery document at {self._discovery_url} is not for issuer {self._issuer}"
            )
        uri = document.get("jwks_uri")
        if not isinstance(uri, str) or not is_secure_url(uri):
            raise ValueError("the discovery document's jwks_uri is not an https URL")
        self._discovered = uri
        return uri

    def _fetch(self, rediscover: bool) -> dict[str, Any]:
        document = _get_json(self._jwks_uri(rediscover))
        if not isinstance(document, dict):
            raise ValueError("the JWKS is not a JSON object")
        keys = {
            key.key_id: key.key
            for key in jwt.PyJWKSet.from_dict(document).keys
            if isinstance(key.key_id, str) and key.key_id and key.algorithm_name == "ES256"
        }
        if not keys:
            raise ValueError("the JWKS holds no ES256 key with a kid")
        return keys

    def _usable(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < KEYS_STALE_SECONDS

    def _refresh(self, blocking: bool, on_demand: bool) -> None:
        """Fetch DT's keys unless a fetch is in progress (waited for when `blocking`) or was
        attempted too recently; a failure keeps the keys held."""
        if not self._lock.acquire(blocking, 2 * _FETCH_TIMEOUT_SECONDS + 1 if blocking else -1):
            return
        try:
            now = self._clock()
            last, interval = (
                (self._on_demand_at, JWKS_REFRESH_COOLDOWN_SECONDS)
                if on_demand
                else (
                    self._attempted_at,
                    KEYS_RETRY_WHILE_HELD_SECONDS if self._usable(now) else KEYS_RETRY_SECONDS,
                )
            )
            if last is not None and now - last < interval:
                return
            self._attempted_at = now
            if on_demand:
                self._on_demand_at = now
            try:
                keys = self._fetch(rediscover=not on_demand)
            except Exception as error:
                self._failed = True
                held = (
                    "none"
                    if self._fetched_at is None
                    else f"those fetched {now - self._fetched_at:.0f} s ago"
                )
                logs.log("WARNING", "DT's signing keys could not be fetched; keys kept: " + held,
                         error=f"{type(error).__name__}: {str(error)[:300]}")  # fmt: skip
                return
            self._keys, self._fetched_at, self._failed = keys, now, False
        finally:
            self._lock.release()

    def key_for(self, kid: str) -> Any:
        started = self._clock()
        if self._fetched_at is None or started - self._fetched_at >= KEYS_FRESH_SECONDS:
            if self._usable(started):  # refresh behind the requests, which keep the keys held
                last = self._attempted_at
                if not self._lock.locked() and (
                    last is None or started - last >= KEYS_RETRY_WHILE_HELD_SECONDS
                ):
                    threading.Thread(target=self._refresh, args=(False, False), daemon=True).start()
            else:
                self._refresh(blocking=True, on_demand=False)
        if not self._usable(self._clock()):
            raise Unavailable("DT's signing keys could not be fetched; retry later")
        key = self._keys.get(kid)
        if key is not None:
            return key
        self._refresh(blocking=True, on_demand=True)  # DT may have rotated its keys
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._fetched_at is not None and self._fetched_at >= started:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token names no known DT key ({kid[:64]!r})")
        if self._failed:
            raise Unavailable(f"DT's signing keys could not be fetched to find key {kid[:64]!r}; retry later")
        age = self._clock() - (self._fetched_at or 0.0)
        raise Unavailable(
            f"the {ASYMMETRIC_HEADER} token names DT key {kid[:64]!r}, not among DT's keys fetched "
            f"{age:.0f} s ago; retry later (DT may have rotated its keys)"
        )


class AsymmetricVerifier:
    """ES256 tokens signed by DT, for one DT organization (the `sub` claim)."""

    def __init__(self, config: IngestConfig, clock: Clock = time.time) -> None:
        assert config.organization_id is not None
        self._organization_id = config.organization_id.encode()
        self._issuer = config.issuer
        self._leeway = config.clock_leeway_seconds
        self._audience = config.audience
        self._keys = _DtKeys(config.jwks_url, config.oidc_discovery_url, config.issuer)
        self._clock = clock

    def _check_claims(self, claims: Mapping[str, Any], body: bytes) -> None:
        """Issuer, DT organization (`sub`), times, audience and body checksum."""
        if not isinstance(claims.get("iss"), str) or claims["iss"] != self._issuer:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token's issuer (iss) is not DT's")
        sub = claims.get("sub")
        if (
            not isinstance(sub, str)
            or not sub.isascii()
            or not hmac.compare_digest(sub.encode(), self._organization_id)
        ):
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is for another DT organization")
        _check_times(claims, self._clock(), self._leeway)
        _check_audience(claims, self._audience)
        _checksum_matches(claims, body)

    def verify(self, token: str, body: bytes) -> None:
        _refusing_anything_unexpected(ASYMMETRIC_HEADER, lambda: self._verify(token, body))

    def _verify(self, token: str, body: bytes) -> None:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "ES256":
                raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is not signed with ES256")
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token has no kid header")
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token is malformed") from None
        # What is wrong whatever the key is refused first: it costs no fetch of DT's keys, and only
        # a token that could be genuine is told to retry later when its key is not known yet.
        self._check_claims(unverified, body)
        key = self._keys.key_for(kid)
        try:
            claims = jwt.decode(token, key, algorithms=["ES256"], options=_DECODE_OPTIONS)
        except jwt.PyJWTError:
            raise InvalidSignature(f"the {ASYMMETRIC_HEADER} token's signature is not DT's") from None
        self._check_claims(claims, body)


class RequestVerifier:
    """Runs every configured scheme whose header is present; one at least must be present."""

    def __init__(self, config: IngestConfig, clock: Clock = time.time) -> None:
        self._schemes: list[tuple[str, SharedSecretVerifier | AsymmetricVerifier]] = []
        self._require_asymmetric = config.require_asymmetric_signature
        if config.signature_secrets:
            verifier = SharedSecretVerifier(
                config.signature_secrets, config.clock_leeway_seconds, clock, config.audience
            )
            self._schemes.append((SHARED_SECRET_HEADER, verifier))
        if config.organization_id:
            self._schemes.append((ASYMMETRIC_HEADER, AsymmetricVerifier(config, clock)))

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        checked: list[str] = []
        for header, verifier in self._schemes:
            token = _single_header(headers, header)
            if token is not None:
                verifier.verify(token, body)
                checked.append(header)
        if self._require_asymmetric and ASYMMETRIC_HEADER not in checked:
            raise InvalidSignature(
                f"the request has no {ASYMMETRIC_HEADER} header, which this function requires"
            )
        if not checked:
            expected = " or ".join(header for header, _ in self._schemes)
            raise InvalidSignature(f"the request has no {expected} header")
