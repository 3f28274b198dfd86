"""Sign request bodies exactly as DT's Data Connectors do (for the fleet, tests and benchmarks).

- `X-Dt-Signature`: HS256 JWT with `checksum` (SHA-1), `checksum_sha256`, `iat`, `exp` = iat + 3600,
  `jti`, keyed with the connector's signature secret.
- `DT-Asymmetric-Signature`: ES256 JWT with header `kid`, claims `checksum_sha256`, `iat`,
  `exp` = iat + 300, `iss`, `sub` (the DT organization id).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from functions.config import DT_ISSUER

_XID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"


def new_xid() -> str:
    """A 20-character id shaped like DT's event ids (xid: base32hex, lowercase)."""
    return "".join(secrets.choice(_XID_ALPHABET) for _ in range(20))


def shared_secret_token(body: bytes, secret: str, issued_at: float | None = None, **overrides: Any) -> str:
    """The `X-Dt-Signature` value DT would send for `body`."""
    iat = int(time.time() if issued_at is None else issued_at)
    claims: dict[str, Any] = {
        "checksum": hashlib.sha1(body).hexdigest(),  # noqa: S324 (DT's legacy checksum)
        "checksum_sha256": hashlib.sha256(body).hexdigest(),
        "exp": iat + 3600,
        "iat": iat,
        "jti": new_xid(),
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


@dataclass
class AsymmetricSigner:
    """A DT-like ES256 signing key with its JWKS, for offline tests and the local pipeline."""

    organization_id: str
    issuer: str = DT_ISSUER
    kid: str = field(default_factory=new_xid)
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def token(self, body: bytes, issued_at: float | None = None, **overrides: Any) -> str:
        """The `DT-Asymmetric-Signature` value DT would send for `body`."""
        iat = int(time.time() if issued_at is None else issued_at)
        claims: dict[str, Any] = {
            "checksum_sha256": hashlib.sha256(body).hexdigest(),
            "exp": iat + 300,
            "iat": iat,
            "iss": self.issuer,
            "sub": self.organization_id,
        }
        claims.update(overrides)
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None},
            self.private_key,
            algorithm="ES256",
            headers={"kid": self.kid},
        )

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set, as DT's `jwks_uri` serves it."""
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "ES256"}]}


def headers_for(
    body: bytes, secret: str | None = None, signer: AsymmetricSigner | None = None
) -> dict[str, str]:
    """Request headers DT would send with `body`, signed by one or both schemes."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Dt-Signature"] = shared_secret_token(body, secret)
    if signer is not None:
        headers["DT-Asymmetric-Signature"] = signer.token(body)
    return headers
