"""The exceptions of this package, each carrying the HTTP answer it maps to.

They are translated into responses (ingest) or acks/retries (route) in one place each:
`functions.ingest.handle` and `functions.router.handle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar


class ConfigError(Exception):
    """The function's environment is missing or has an invalid setting (fails at start-up)."""


class IngestError(Exception):
    """A request the ingest function refuses; `status` and `code` make the HTTP answer."""

    status = 400
    code = "bad_request"
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MethodNotAllowed(IngestError):
    status = 405
    code = "method_not_allowed"
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({"Allow": "POST"})


class BodyTooLarge(IngestError):
    status = 413
    code = "body_too_large"


class BodyTimeout(IngestError):
    """The body did not arrive within BODY_READ_TIMEOUT_SECONDS (a slow sender holds no slot)."""

    status = 408
    code = "body_timeout"
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({"Connection": "close"})


class InvalidBody(IngestError):
    """The body is not JSON or not a DT event envelope."""

    status = 400
    code = "invalid_body"


class InvalidSignature(IngestError):
    """The signature is missing, malformed, expired, or does not match the body."""

    status = 401
    code = "invalid_signature"


class ProjectNotAllowed(IngestError):
    """A genuine DT event of a DT project not in DT_PROJECT_IDS (another team's connector)."""

    status = 403
    code = "project_not_allowed"


class Unavailable(IngestError):
    """A dependency (Pub/Sub, DT's key server) failed: DT must retry later."""

    status = 503
    code = "unavailable"
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({"Retry-After": "30"})


class PoisonMessage(Exception):
    """A Pub/Sub message that can never be written (retrying won't help): dead-letter it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
