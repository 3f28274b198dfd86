"""DT's REST API and token endpoint on loopback, for the tests of the operations tool.

It answers the documented endpoints the tool uses, with the shapes of DT's docs and of the
`disruptive` package's own test data (python-client tests/api_responses.py):
- `POST /oauth2/token`: JWT bearer grant; the assertion must be an HS256 JWT signed with the key
  secret, header `kid` = key id, `iss` = the service account's email, `aud` = the token endpoint.
- `GET /v2/projects/{p}/devices`: `{"devices": [...], "nextPageToken"}`, paged.
- `GET /v2/projects/{p}/devices/{d}/events?eventTypes&startTime&endTime&pageToken&pageSize`:
  `{"events": [...], "nextPageToken"}`, paged, filtered by type and by time in [startTime, endTime).
- `GET /v2/projects/{p}/dataconnectors`, `GET|PATCH .../dataconnectors/{c}`, `GET ...:metrics`,
  `POST ...:sync`.
Errors look like DT's: `{"error": ..., "code": ..., "help": ...}`. Faults (429 with Retry-After,
5xx, for a number of requests or until cleared) and a delay per history page are injectable.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from functions import timestamps
from local.loopback import LoopbackHttpServer, answer_json

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ROUTES = [
    ("GET", re.compile(r"^/v2/projects/([^/]+)/devices$"), "devices"),
    ("GET", re.compile(r"^/v2/projects/([^/]+)/devices/([^/]+)/events$"), "events"),
    ("GET", re.compile(r"^/v2/projects/([^/]+)/dataconnectors$"), "connectors"),
    ("GET", re.compile(r"^/v2/projects/([^/]+)/dataconnectors/([^/:]+)$"), "connector"),
    ("PATCH", re.compile(r"^/v2/projects/([^/]+)/dataconnectors/([^/:]+)$"), "patch_connector"),
    ("GET", re.compile(r"^/v2/projects/([^/]+)/dataconnectors/([^/:]+):metrics$"), "metrics"),
    ("POST", re.compile(r"^/v2/projects/([^/]+)/dataconnectors/([^/:]+):sync$"), "sync"),
]


class _Answer(Exception):
    """An HTTP answer other than 200, raised from a route."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers or {}


@dataclass
class Fault:
    """Answer `status` to requests whose path contains `path_contains`, `times` times (None: always),
    after letting the first `after` of them through."""

    path_contains: str
    status: int
    times: int | None = 1
    retry_after: str | None = None
    method: str | None = None
    after: int = 0


@dataclass
class Project:
    devices: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    syncs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class FakeDtApi(LoopbackHttpServer):
    """Serves on 127.0.0.1 on a free port; `api_url` and `token_endpoint` are what DT_API_URL and
    DT_OIDC_TOKEN_ENDPOINT should be set to."""

    def __init__(
        self,
        key_id: str = "fake-key-id",
        secret: str = "fake-key-secret-0123456789abcdef",
        email: str = "ops@fake-project.serviceaccount.d21s.com",
        device_page_size: int = 2,
        event_page_size: int = 3,
    ) -> None:
        super().__init__()
        self.key_id, self.secret, self.email = key_id, secret, email
        self.device_page_size = device_page_size
        self.event_page_size = event_page_size
        self.event_page_delay = 0.0
        self.projects: dict[str, Project] = {}
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.tokens_issued = 0
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    # Lifecycle and settings -------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.url

    @property
    def token_endpoint(self) -> str:
        return self.url + "/oauth2/token"

    def env(self) -> dict[str, str]:
        """The settings the ops tool reads to use this fake as DT."""
        return {
            "DT_API_URL": self.api_url,
            "DT_OIDC_TOKEN_ENDPOINT": self.token_endpoint,
            "DT_API_KEY_ID": self.key_id,
            "DT_API_KEY_SECRET": self.secret,
            "DT_OIDC_EMAIL": self.email,
        }

    def project(self, project_id: str) -> Project:
        return self.projects.setdefault(project_id, Project())

    def fail(self, path_contains: str, status: int, **options: Any) -> Fault:
        fault = Fault(path_contains, status, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def answered(self, path_contains: str, status: int | None = None) -> list[Request]:
        """The requests so far whose path contains `path_contains` (answered `status`)."""
        return [r for r in self.requests if path_contains in r.path and status in (None, r.status)]

    # Serving ---------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        status, headers, answer = 200, {}, {}
        try:
            self._inject_fault(handler.command, url.path)
            if url.path == "/oauth2/token" and handler.command == "POST":
                answer = self._token(body)
            else:
                self._authenticate(handler.headers.get("Authorization", ""))
                answer = self._route(handler.command, url.path, query, body)
        except _Answer as refusal:
            status, headers = refusal.status, refusal.headers
            answer = {
                "error": refusal.error,
                "code": status,
                "help": f"https://developer.disruptive-technologies.com/api#/errors/{status}",
            }
        with self._lock:
            self.requests.append(Request(handler.command, url.path, query, status))
        answer_json(handler, status, answer, headers)

    def _inject_fault(self, method: str, path: str) -> None:
        with self._lock:
            for fault in self.faults:
                if fault.path_contains in path and fault.method in (None, method):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    raise _Answer(fault.status, "injected fault", headers)

    def _token(self, body: bytes) -> dict[str, Any]:
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if form.get("grant_type") != GRANT_TYPE:
            raise _Answer(400, "unsupported_grant_type")
        assertion = form.get("assertion", "")
        try:
            if jwt.get_unverified_header(assertion).get("kid") != self.key_id:
                raise _Answer(400, "invalid_grant: unknown key id")
            jwt.decode(
                assertion, self.secret, algorithms=["HS256"], audience=self.token_endpoint, issuer=self.email
            )
        except jwt.PyJWTError as error:
            raise _Answer(400, f"invalid_grant: {error}") from None
        with self._lock:
            self.tokens_issued += 1
            token = f"fake-access-token-{self.tokens_issued}"
            self._tokens.add(token)
        return {"access_token": token, "token_type": "bearer", "expires_in": 3600}

    def _authenticate(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self._tokens:
            raise _Answer(401, "unauthenticated")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        for route_method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                project = self.projects.get(match.group(1))
                if project is None:
                    raise _Answer(404, "project not found")
                return getattr(self, "_" + name)(project, *match.groups()[1:], query=query, body=body)
        raise _Answer(404, "not found")

    # Endpoints -------------------------------------------------------------------------
    def _devices(self, project: Project, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        items, token = _page(project.devices, query, self.device_page_size)
        return {"devices": items, "nextPageToken": token}

    def _events(
        self, project: Project, device_id: str, query: dict[str, list[str]], body: bytes
    ) -> dict[str, Any]:
        if not any(device["name"].endswith(f"/devices/{device_id}") for device in project.devices):
            raise _Answer(404, "device not found")
        types = {t for value in query.get("eventTypes", []) for t in value.split(",") if t}
        try:
            start = timestamps.parse(query["startTime"][0]) if "startTime" in query else None
            end = timestamps.parse(query["endTime"][0]) if "endTime" in query else None
        except ValueError:
            raise _Answer(400, "startTime and endTime must be RFC 3339") from None
        events = [
            event
            for event in sorted(project.events.get(device_id, []), key=lambda e: e["timestamp"])
            if (not types or event["eventType"] in types)
            and (start is None or timestamps.parse(event["timestamp"]) >= start)
            and (end is None or timestamps.parse(event["timestamp"]) < end)
        ]
        if self.event_page_delay:
            time.sleep(self.event_page_delay)
        page_size = int(query["pageSize"][0]) if "pageSize" in query else self.event_page_size
        items, token = _page(events, query, page_size)
        return {"events": items, "nextPageToken": token}

    def _connectors(self, project: Project, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        return {"dataConnectors": list(project.connectors.values()), "nextPageToken": ""}

    def _connector(self, project: Project, connector_id: str, **_: Any) -> dict[str, Any]:
        if connector_id not in project.connectors:
            raise _Answer(404, "data connector not found")
        return project.connectors[connector_id]

    def _patch_connector(self, project: Project, connector_id: str, body: bytes, **_: Any) -> dict[str, Any]:
        connector = self._connector(project, connector_id)
        update = json.loads(body or b"{}")
        if "status" in update and update["status"] not in ("ACTIVE", "USER_DISABLED"):
            raise _Answer(400, "status must be ACTIVE or USER_DISABLED")
        connector.update(update)
        return connector

    def _metrics(self, project: Project, connector_id: str, **_: Any) -> dict[str, Any]:
        self._connector(project, connector_id)
        return {
            "metrics": project.metrics.get(
                connector_id, {"successCount": 0, "errorCount": 0, "latency99p": "0s"}
            )
        }

    def _sync(self, project: Project, connector_id: str, **_: Any) -> dict[str, Any]:
        self._connector(project, connector_id)
        project.syncs.append(connector_id)
        return {}


def _page(
    items: list[dict[str, Any]], query: dict[str, list[str]], size: int
) -> tuple[list[dict[str, Any]], str]:
    """One page of `items` from the opaque `pageToken`, and the token of the next page."""
    token = query.get("pageToken", [""])[0]
    try:
        offset = (
            int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:")) if token else 0
        )
    except ValueError:
        raise _Answer(400, "invalid page token") from None
    end = offset + size
    next_token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[offset:end], next_token
