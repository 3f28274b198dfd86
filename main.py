"""Cloud Functions entry points. All logic lives in the `functions` package.

- `ingest` (HTTP, async: served by functions-framework's ASGI server): DT Data Connector →
  verified → Pub/Sub.
- `route` (HTTP, async, fed by a Pub/Sub push subscription): Pub/Sub → the landing table. It reads
  the push envelope itself (functions/push.py), and its synchronous BigQuery work runs in a pool of
  THREADS threads, so each delivery costs uvicorn's HTTP handling, not Flask's and the CloudEvent
  conversion's (docs/benchmarks.md, "Route").

Both check their configuration at import (a bad one stops the instance at start-up with a
clear message) and build their handler, with the client libraries, on the first request, in the
server's worker: the master process, which only forks and watches that worker, stays without
the libraries (for ingest 41 against 80 MiB resident, see docs/benchmarks.md), and the handler's
summary line is flushed by the worker's SIGTERM handler (uvicorn installs its own in the worker;
one set before the fork would be replaced). Each is served by one event loop, so the handler is
built once. A process serving one function never imports the other's client library (BigQuery
is not imported by `ingest`).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import functions_framework
import functions_framework.aio
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


@functools.cache
def _route_threads() -> ThreadPoolExecutor:
    """The threads deliveries run in, started in the server's worker: each waits for its row's
    BigQuery insert, so there must be as many as requests served at once (THREADS)."""
    return ThreadPoolExecutor(_route_handler().config.threads, thread_name_prefix="route")


@functions_framework.aio.http
async def route(request: Request) -> Response:
    """Write one pushed Pub/Sub message (a DT event) to BigQuery; a non-2xx answer makes Pub/Sub redeliver."""
    body = await request.body()
    text, status = await asyncio.get_running_loop().run_in_executor(
        _route_threads(), _route_handler().respond, body
    )
    return Response(text, status_code=status, media_type="text/plain")


_AT_START_UP: dict[str, Callable[[], object]] = {
    "ingest": IngestConfig.from_env,
    "route": RouterConfig.from_env,
}
if os.environ.get("FUNCTION_TARGET") in _AT_START_UP:
    _AT_START_UP[os.environ["FUNCTION_TARGET"]]()  # a ConfigError here stops the instance
    gc.freeze()
