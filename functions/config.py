"""Typed configuration of both functions, read from the environment once at start-up.

A bad setting raises `ConfigError` with a message naming the variable, so a deployment
fails loudly at its first request instead of answering wrongly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

DT_ISSUER = "https://identity.disruptive-technologies.com/data-connector"
DT_OIDC_DISCOVERY_URL = DT_ISSUER + "/.well-known/openid-configuration"

# Google resource names, as the functions and the operations tool accept them.
TOPIC_PATTERN = re.compile(r"^projects/[a-z][a-z0-9.:-]{0,62}/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$")
SUBSCRIPTION_PATTERN = re.compile(
    r"^projects/[a-z][a-z0-9.:-]{0,62}/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$"
)
DATASET_PATTERN = re.compile(r"^[a-z][a-z0-9.:-]{0,62}\.[A-Za-z0-9_]{1,1024}$")
_URL = re.compile(r"^https?://\S+$")
_LOOPBACK_URL = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?(/\S*)?$")
# A DT organization or project id, as Terraform validates them (looser in length).
_ORGANIZATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# Pub/Sub accepts at most 10 MB per message and per Publish request (data, attributes and the
# request's own fields): a body above this could never be published, so it is no valid limit.
MAX_PUBLISHABLE_BODY_BYTES = 9_500_000


def is_secure_url(url: str) -> bool:
    """https, or plain http to this machine only (emulators, tests): keys and tokens never travel
    in clear text over a network."""
    return (url.startswith("https://") and bool(_URL.match(url))) or bool(_LOOPBACK_URL.match(url))


def _required(env: Mapping[str, str], name: str, pattern: re.Pattern[str], example: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set; expected e.g. {example}")
    if not pattern.match(value):
        raise ConfigError(f"{name}={value!r} is malformed; expected e.g. {example}")
    return value


def _optional_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = env.get(name, "").strip() or default
    if value is not None and not _URL.match(value):
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value


def _secure_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = _optional_url(env, name, default)
    if value is not None and not is_secure_url(value):
        raise ConfigError(
            f"{name}={value!r} must be an https URL (plain http only to 127.0.0.1 or localhost)"
        )
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in ("", "true", "false", "1", "0"):
        raise ConfigError(f"{name}={raw!r} is not true or false")
    return raw in ("true", "1")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw} is out of range [{low}, {high}]")
    return value


def _project_ids(env: Mapping[str, str]) -> frozenset[str]:
    """DT_PROJECT_IDS: DT project ids separated by commas (Terraform passes dt_project_ids)."""
    ids = frozenset(item.strip() for item in env.get("DT_PROJECT_IDS", "").split(",") if item.strip())
    malformed = sorted(item for item in ids if not _ORGANIZATION_ID.match(item))
    if malformed:
        raise ConfigError(f"DT_PROJECT_IDS holds {malformed[0]!r}, which is no DT project id")
    return ids


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(env: Mapping[str, str]) -> str:
    """LOG_LEVEL, any letter case, one of LOG_LEVELS (as Terraform's `log_level` validates it)."""
    raw = env.get("LOG_LEVEL", "").strip()
    if not raw:
        return "INFO"
    if raw.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return raw.upper()


@dataclass(frozen=True)
class IngestConfig:
    """Settings of the `ingest` function (see README, "Configuration")."""

    pubsub_topic: str
    signature_secrets: tuple[str, ...]
    organization_id: str | None
    jwks_url: str | None
    oidc_discovery_url: str
    issuer: str
    max_body_bytes: int
    publish_timeout_seconds: float
    clock_leeway_seconds: float
    log_level: str
    require_asymmetric_signature: bool = False
    audience: str | None = None
    body_read_timeout_seconds: float = 5.0
    project_ids: frozenset[str] = frozenset()  # empty: events of any DT project are accepted

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestConfig:
        env = os.environ if env is None else env
        secrets = tuple(
            secret
            for secret in (env.get("DT_SIGNATURE_SECRET", ""), env.get("DT_SIGNATURE_SECRET_PREVIOUS", ""))
            if secret
        )
        if env.get("DT_SIGNATURE_SECRET_PREVIOUS") and not env.get("DT_SIGNATURE_SECRET"):
            raise ConfigError("DT_SIGNATURE_SECRET_PREVIOUS is set but DT_SIGNATURE_SECRET is not")
        organization_id = env.get("DT_ORGANIZATION_ID", "").strip() or None
        if not secrets and organization_id is None:
            raise ConfigError(
                "no signature check is configured: set DT_SIGNATURE_SECRET (the connector's "
                "signature secret) and/or DT_ORGANIZATION_ID (for DT-Asymmetric-Signature)"
            )
        if organization_id is not None and not _ORGANIZATION_ID.match(organization_id):
            raise ConfigError(
                f"DT_ORGANIZATION_ID={organization_id!r} is malformed; expected DT's organization id"
            )
        require_asymmetric = _flag(env, "DT_REQUIRE_ASYMMETRIC_SIGNATURE")
        if require_asymmetric and organization_id is None:
            raise ConfigError("DT_REQUIRE_ASYMMETRIC_SIGNATURE is set but DT_ORGANIZATION_ID is not")
        return cls(
            pubsub_topic=_required(
                env, "PUBSUB_TOPIC", TOPIC_PATTERN, "projects/my-project/topics/dt-events"
            ),
            signature_secrets=secrets,
            organization_id=organization_id,
            jwks_url=_secure_url(env, "DT_JWKS_URL", None),
            oidc_discovery_url=_secure_url(env, "DT_OIDC_DISCOVERY_URL", DT_OIDC_DISCOVERY_URL) or "",
            issuer=env.get("DT_ISSUER", "").strip() or DT_ISSUER,
            max_body_bytes=int(_number(env, "MAX_BODY_BYTES", 262_144, 1_024, MAX_PUBLISHABLE_BODY_BYTES)),
            publish_timeout_seconds=_number(env, "PUBLISH_TIMEOUT_SECONDS", 10.0, 0.1, 300.0),
            clock_leeway_seconds=_number(env, "CLOCK_LEEWAY_SECONDS", 60.0, 0.0, 3600.0),
            log_level=_log_level(env),
            require_asymmetric_signature=require_asymmetric,
            audience=env.get("DT_AUDIENCE", "").strip() or None,
            body_read_timeout_seconds=_number(env, "BODY_READ_TIMEOUT_SECONDS", 5.0, 0.5, 60.0),
            project_ids=_project_ids(env),
        )


@dataclass(frozen=True)
class RouterConfig:
    """Settings of the `route` function (see README, "Configuration")."""

    bigquery_project: str
    bigquery_dataset: str
    bigquery_api_endpoint: str | None
    dead_letter_topic: str
    bigquery_timeout_seconds: float
    log_level: str
    dead_letter_timeout_seconds: float = 10.0
    threads: int = 4  # deliveries served at once

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RouterConfig:
        env = os.environ if env is None else env
        dataset = _required(env, "BIGQUERY_DATASET", DATASET_PATTERN, "my-project.dt")
        project, dataset_id = dataset.rsplit(".", 1)
        return cls(
            bigquery_project=project,
            bigquery_dataset=dataset_id,
            bigquery_api_endpoint=_optional_url(env, "BIGQUERY_API_ENDPOINT", None),
            dead_letter_topic=_required(
                env, "DEAD_LETTER_TOPIC", TOPIC_PATTERN, "projects/my-project/topics/dt-events-dead-letter"
            ),
            bigquery_timeout_seconds=_number(env, "BIGQUERY_TIMEOUT_SECONDS", 30.0, 1.0, 540.0),
            log_level=_log_level(env),
            dead_letter_timeout_seconds=_number(env, "DEAD_LETTER_TIMEOUT_SECONDS", 10.0, 0.1, 300.0),
            # Terraform passes its concurrency; unset, functions-framework's default for threads.
            threads=int(_number(env, "THREADS", (os.cpu_count() or 1) * 4, 1, 1000)),
        )
