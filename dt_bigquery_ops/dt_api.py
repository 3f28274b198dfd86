"""A small client of DT's REST API for the operations tool: service-account auth, paging, retries.

Why not the `disruptive` package: its retries give up on a 429 without `Retry-After`, read
`Retry-After` only as whole seconds, never retry a 502, and wait at most 0 + 1 + 4 s; its
`paginated_get` collects every page before returning, so a backfill could neither save its
place after each page nor resume from a page token; and it is configured through module-wide
globals. This client does only what `ops` needs, with the same endpoints and the same
token exchange (a JWT signed with the key secret, traded for an access token).

Settings from the environment, as DT's Terraform provider reads them: `DT_API_KEY_ID`,
`DT_API_KEY_SECRET`, `DT_OIDC_EMAIL`, `DT_API_URL` (without `/v2`), `DT_OIDC_TOKEN_ENDPOINT`.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import requests

from dt_bigquery_ops.deployed import config, timestamps

DEFAULT_API_URL = "https://api.disruptive-technologies.com"
DEFAULT_TOKEN_ENDPOINT = "https://identity.disruptive-technologies.com/oauth2/token"  # noqa: S105 (a URL)
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# A call that is not idempotent (`:sync` pushes events again; a PATCH changes a resource) is
# retried only when DT certainly did not act on it: a 429, or no connection made at all.
_NOT_ACTED_ON_STATUSES = frozenset({429})
_USER_AGENT = "dt-bigquery-ops/0.1"


def _never_sent(error: requests.RequestException) -> bool:
    """Whether the request certainly never reached DT: no connection was made."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    text = str(error)
    return isinstance(error, requests.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
    )


class DtApiError(Exception):
    """DT's API refused a request or stayed unavailable through every retry."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DtAuthError(DtApiError):
    """DT refused the service-account credentials."""


class MissingCredentials(ValueError):
    """The service-account settings are not in the environment."""


@dataclass(frozen=True)
class Credentials:
    """A DT service-account key: the same three settings as DT's Terraform provider."""

    key_id: str
    secret: str
    email: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(key_id={self.key_id!r}, email={self.email!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        names = {"key_id": "DT_API_KEY_ID", "secret": "DT_API_KEY_SECRET", "email": "DT_OIDC_EMAIL"}
        values = {field: env.get(name, "").strip() for field, name in names.items()}
        missing = [names[field] for field, value in values.items() if not value]
        if missing:
            raise MissingCredentials(
                f"{', '.join(missing)} not set: create a key for a DT service account (role Project "
                "Developer, or Project User for read-only commands) and export DT_API_KEY_ID, "
                "DT_API_KEY_SECRET and DT_OIDC_EMAIL (the service account's email)"
            )
        return cls(**values)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a request that DT may answer later."""

    max_retries: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0

    def backoff(self, retry: int) -> float:
        """Exponential backoff with jitter: about initial * 2^retry, capped."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def retry_after(self, header: str | None) -> float | None:
        """`Retry-After` in seconds (a number or an HTTP date), capped; None when absent or invalid."""
        if not header:
            return None
        try:
            seconds = float(header)
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                return None
            seconds = (moment - datetime.now(UTC)).total_seconds()
        return min(max(seconds, 0.0), self.max_retry_after)


@dataclass(frozen=True)
class Page:
    """One page of a listing and the token of the next ("" after the last page)."""

    items: list[dict[str, Any]]
    next_page_token: str


class _RateLimiter:
    """Spaces requests at most `per_second` apart, and holds all of them after a 429."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


def _error_text(response: requests.Response) -> str:
    """DT's error message (`{"error": ..., "code": ..., "help": ...}`), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason
    if isinstance(body, dict):
        return str(body.get("error") or body.get("error_description") or body.get("message") or body)[:300]
    return str(body)[:200]


class DtApi:
    """DT's REST API v2 as one service account sees it; safe to share between threads."""

    def __init__(
        self,
        credentials: Credentials,
        api_url: str = DEFAULT_API_URL,
        token_endpoint: str = DEFAULT_TOKEN_ENDPOINT,
        requests_per_second: float = 10.0,
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        for name, url in (("DT_API_URL", api_url), ("DT_OIDC_TOKEN_ENDPOINT", token_endpoint)):
            if not config.is_secure_url(url):
                # The bearer token and the signed client assertion must never travel in clear text.
                raise MissingCredentials(
                    f"{name}={url!r} must be an https URL (plain http only to 127.0.0.1 or localhost)"
                )
        self.credentials = credentials
        self.base_url = api_url.rstrip("/") + "/v2"
        self.token_endpoint = token_endpoint
        self.retry = retry or RetryPolicy()
        self.timeout = timeout_seconds
        self.retries_done = 0
        self._limiter = _RateLimiter(requests_per_second)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = _USER_AGENT
        self._token = ""
        self._token_expiry = 0.0
        self._token_lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str], **settings: Any) -> DtApi:
        return cls(
            Credentials.from_env(env),
            api_url=env.get("DT_API_URL", "").strip() or DEFAULT_API_URL,
            token_endpoint=env.get("DT_OIDC_TOKEN_ENDPOINT", "").strip() or DEFAULT_TOKEN_ENDPOINT,
            **settings,
        )

    # Authentication ----------------------------------------------------------------------
    def _access_token(self, renew: bool = False) -> str:
        with self._token_lock:
            if renew or not self._token or time.time() > self._token_expiry - 60:
                self._token, lifetime = self._exchange_key_for_token()
                self._token_expiry = time.time() + lifetime
            return self._token

    def _exchange_key_for_token(self) -> tuple[str, float]:
        """OAuth2 JWT bearer grant (RFC 7523), as DT documents it for service accounts."""
        now = int(time.time())
        assertion = jwt.encode(
            {"iat": now, "exp": now + 3600, "aud": self.token_endpoint, "iss": self.credentials.email},
            self.credentials.secret,
            algorithm="HS256",
            headers={"kid": self.credentials.key_id},
        )
        form = {"assertion": assertion, "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
        response = self._send("POST", self.token_endpoint, data=form)
        if response.status_code in (400, 401, 403):
            raise DtAuthError(
                f"DT refused the service-account key {self.credentials.key_id!r} of "
                f"{self.credentials.email!r} ({response.status_code}: {_error_text(response)}); "
                "check DT_API_KEY_ID, DT_API_KEY_SECRET and DT_OIDC_EMAIL",
                response.status_code,
            )
        if response.status_code != 200:
            raise DtApiError(
                f"DT's token endpoint answered {response.status_code}: {_error_text(response)}",
                response.status_code,
            )
        token = response.json()
        return str(token["access_token"]), float(token.get("expires_in", 3600))

    # Transport ---------------------------------------------------------------------------
    def _send(self, method: str, url: str, idempotent: bool = True, **kwargs: Any) -> requests.Response:
        """One request with rate limiting and retries on 429, 5xx and network errors; a call that
        is not `idempotent` only on a 429 or a connection never made (DT did not act on it)."""
        attempt = 0
        while True:
            self._limiter.wait()
            acted_on = False
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as error:
                problem, status = f"{type(error).__name__}: {error}", None
                wait = self.retry.backoff(attempt)
                acted_on = not _never_sent(error)
            else:
                status = response.status_code
                if status not in _RETRIED_STATUSES:
                    return response
                acted_on = response.status_code not in _NOT_ACTED_ON_STATUSES
                problem = f"{response.status_code}: {_error_text(response)}"
                retry_after = self.retry.retry_after(response.headers.get("Retry-After"))
                wait = self.retry.backoff(attempt) if retry_after is None else retry_after
                if response.status_code == 429:
                    self._limiter.hold(wait)
            if acted_on and not idempotent:
                path = url.removeprefix(self.base_url)
                raise DtApiError(
                    f"DT API {method} {path} failed ({problem}) and is not retried: DT may have acted on it; "
                    "check its effect, then run the command again",
                    None if response is None else response.status_code,
                )
            if attempt >= self.retry.max_retries:
                path = url.removeprefix(self.base_url)
                raise DtApiError(
                    f"DT API {method} {path} failed after {attempt + 1} attempts; last answer {problem}",
                    status,
                )
            attempt += 1
            self.retries_done += 1
            time.sleep(wait)

    def request(
        self, method: str, path: str, params: Any = None, body: Any = None, idempotent: bool | None = None
    ) -> dict[str, Any]:
        """An API call under /v2; raises DtApiError (with its HTTP status) unless DT answers 200.
        `idempotent` defaults to whether `method` is GET (others are retried only when safe)."""
        url = self.base_url + path
        idempotent = method == "GET" if idempotent is None else idempotent
        for renewed in (False, True):  # a 401 was not acted on: asked again with a new token
            headers = {"Authorization": f"Bearer {self._access_token(renew=renewed)}"}
            response = self._send(method, url, idempotent, params=params, json=body, headers=headers)
            if response.status_code != 401:
                break
        if response.status_code != 200:
            raise DtApiError(
                f"DT API {method} {path}: {response.status_code} {_error_text(response)}",
                response.status_code,
            )
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            raise DtApiError(
                f"DT API {method} {path}: the answer is not JSON", response.status_code
            ) from None
        return answer if isinstance(answer, dict) else {}

    def page(self, path: str, key: str, params: dict[str, Any], page_token: str = "") -> Page:
        answer = self.request("GET", path, params=params | ({"pageToken": page_token} if page_token else {}))
        items = answer.get(key) or []
        return Page(
            [item for item in items if isinstance(item, dict)], str(answer.get("nextPageToken") or "")
        )

    def pages(self, path: str, key: str, params: dict[str, Any], page_token: str = "") -> Iterator[Page]:
        while True:
            page = self.page(path, key, params, page_token)
            yield page
            if not page.next_page_token:
                return
            page_token = page.next_page_token

    # Resources ---------------------------------------------------------------------------
    def list_devices(self, project: str) -> list[dict[str, Any]]:
        """Every device of the project (sensors and Cloud Connectors), with labels and type."""
        return [
            device
            for page in self.pages(f"/projects/{project}/devices", "devices", {})
            for device in page.items
        ]

    def event_page(
        self,
        project: str,
        device: str,
        start: datetime,
        end: datetime,
        event_types: list[str] | None = None,
        page_token: str = "",
        page_size: int | None = None,
    ) -> Page:
        """One page of a device's event history in [start, end)."""
        params: dict[str, Any] = {
            "startTime": timestamps.to_rfc3339(start),
            "endTime": timestamps.to_rfc3339(end),
        }
        if event_types:
            params["eventTypes"] = list(event_types)
        if page_size:
            params["pageSize"] = page_size
        return self.page(f"/projects/{project}/devices/{device}/events", "events", params, page_token)

    def list_connectors(self, project: str) -> list[dict[str, Any]]:
        path = f"/projects/{project}/dataconnectors"
        return [connector for page in self.pages(path, "dataConnectors", {}) for connector in page.items]

    def get_connector(self, project: str, connector: str) -> dict[str, Any]:
        return self.request("GET", f"/projects/{project}/dataconnectors/{connector}")

    def connector_metrics(self, project: str, connector: str) -> dict[str, Any]:
        """Deliveries over the last 3 hours: successCount, errorCount, latency99p ("0.411s")."""
        answer = self.request("GET", f"/projects/{project}/dataconnectors/{connector}:metrics")
        metrics = answer.get("metrics")
        return metrics if isinstance(metrics, dict) else {}

    def sync_connector(self, project: str, connector: str) -> None:
        """Ask DT to push the latest event of each type of every device through the connector."""
        self.request("POST", f"/projects/{project}/dataconnectors/{connector}:sync")

    def set_connector_status(self, project: str, connector: str, status: str) -> dict[str, Any]:
        if status not in ("ACTIVE", "USER_DISABLED"):
            raise ValueError(f"a connector's status can be set to ACTIVE or USER_DISABLED, not {status!r}")
        path = f"/projects/{project}/dataconnectors/{connector}"
        return self.request("PATCH", path, body={"status": status})
