"""Cloud Functions entry points. All logic lives in the `functions` package.

- `ingest` (HTTP, async: served by functions-framework's ASGI server): DT Data Connector →
  verified → Pub/Sub.
- `route` (CloudEvent, Pub/Sub push): Pub/Sub → typed BigQuery tables.
Each builds its handler once, at start-up when FUNCTION_TARGET names it (so a bad
configuration stops the instance with a clear message), and a process serving one never
imports the other's client library (BigQuery is not imported by `ingest`).
"""

from __future__ import annotations

import functools
import gc
import os

import functions_framework
import functions_framework.aio
from cloudevents.http import CloudEvent
from starlette.requests import Request
from starlette.responses import Response

from functions import logs
from functions.config import IngestConfig, RouterConfig


@functools.cache
def _ingest_handler():
    from functions.ingest import Ingest

    config = IngestConfig.from_env()
    logs.configure(config.log_level)
    return Ingest(config)


@functools.cache
def _route_handler():
    from functions.router import Router

    config = RouterConfig.from_env()
    logs.configure(config.log_level)
    return Router(config)


@functions_framework.aio.http
async def ingest(request: Request) -> Response:
    """Receive one DT Data Connector request."""
    return await _ingest_handler().handle(request)


@functions_framework.cloud_event
def route(cloud_event: CloudEvent) -> None:
    """Write one Pub/Sub message (a DT event) to BigQuery; raising makes Pub/Sub redeliver."""
    _route_handler().handle(cloud_event)


_HANDLERS = {"ingest": _ingest_handler, "route": _route_handler}
if os.environ.get("FUNCTION_TARGET") in _HANDLERS:
    _HANDLERS[os.environ["FUNCTION_TARGET"]]()
    # Everything loaded so far lives as long as the process: keep it out of the garbage
    # collector's passes. The server's worker is forked from this process, so this also keeps
    # those pages shared (Python's gc.freeze docs). Measured on ingest: 18 % less CPU per
    # request, 14 MiB less memory (PSS), p99 a third (README, "Benchmarks").
    gc.freeze()
