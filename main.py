"""Cloud Functions entry points. All logic lives in the `functions` package.

- `ingest` (HTTP, async: served by functions-framework's ASGI server): DT Data Connector →
  verified → Pub/Sub.
- `route` (CloudEvent, Pub/Sub push): Pub/Sub → typed BigQuery tables.

`ingest` checks its configuration at import (a bad one stops the instance at start-up with a
clear message) and builds its handler, with the Pub/Sub library, on the first request, in the
server's worker: the master process, which only forks and watches that worker, stays without
the library (41 against 80 MiB resident, see docs/benchmarks.md). It is served by one event
loop, so the handler is built once. `route`, served by a pool of threads, builds its handler at
import, before the worker is forked. A process serving one function never imports the other's
client library (BigQuery is not imported by `ingest`).
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable

import functions_framework
import functions_framework.aio
from cloudevents.http import CloudEvent
from starlette.requests import Request
from starlette.responses import Response

from functions import logs
from functions.config import IngestConfig, RouterConfig

# gc.freeze(), once a handler is built and once at start-up: everything loaded by then lives as
# long as the process, so it is kept out of the garbage collector's passes (measured on ingest:
# 18 % less CPU per request, p99 a third; docs/benchmarks.md), and the worker forked from the
# master at start-up leaves the pages it shares with the master alone.


@functools.cache
def _ingest_handler():
    from functions.ingest import Ingest

    config = IngestConfig.from_env()
    logs.configure(config.log_level)
    handler = Ingest(config)
    gc.freeze()
    return handler


@functools.cache
def _route_handler():
    from functions.router import Router

    config = RouterConfig.from_env()
    logs.configure(config.log_level)
    handler = Router(config)
    gc.freeze()
    return handler


@functions_framework.aio.http
async def ingest(request: Request) -> Response:
    """Receive one DT Data Connector request."""
    return await _ingest_handler().handle(request)


@functions_framework.cloud_event
def route(cloud_event: CloudEvent) -> None:
    """Write one Pub/Sub message (a DT event) to BigQuery; raising makes Pub/Sub redeliver."""
    _route_handler().handle(cloud_event)


_AT_START_UP: dict[str, Callable[[], object]] = {"ingest": IngestConfig.from_env, "route": _route_handler}
if os.environ.get("FUNCTION_TARGET") in _AT_START_UP:
    _AT_START_UP[os.environ["FUNCTION_TARGET"]]()  # a ConfigError here stops the instance
    gc.freeze()
