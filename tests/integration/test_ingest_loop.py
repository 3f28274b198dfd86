"""`ingest` runs on one event loop (ASGI): a slow fetch of DT's keys must not hold other requests."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from local.dt_signing import headers_for
from local.servers import FunctionServer, JwksServer, free_port
from tests.support.dt import SECRET, real_body, with_event
from tests.support.functions import ingest_env
from tests.support.pubsub import create_topic_with_subscription

TEMPERATURE = real_body("temperature.json")


def test_requests_are_answered_while_dts_keys_are_being_fetched(
    tmp_path, pubsub_host, publisher, subscriber, signer
):
    gate = threading.Event()
    keys = JwksServer(signer.jwks(), gate=gate).start()
    topic, _ = create_topic_with_subscription(publisher, subscriber, "ingest-loop")
    server = FunctionServer(
        "ingest", free_port(), ingest_env(topic, pubsub_host, keys), tmp_path / "ingest.log"
    )
    server.start()
    try:
        signed = with_event(TEMPERATURE, eventId="waitsforkeys00000001")
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(
                requests.post, server.url, data=signed, headers=headers_for(signed, signer=signer), timeout=60
            )
            deadline = time.monotonic() + 30
            while keys.requests == 0:  # the ES256 request is now waiting for DT's key server
                assert time.monotonic() < deadline, "ingest never asked for DT's keys"
                time.sleep(0.05)
            body = with_event(TEMPERATURE, eventId="meanwhile00000000001")
            meanwhile = requests.post(
                server.url, data=body, headers=headers_for(body, secret=SECRET), timeout=30
            )
            assert meanwhile.status_code == 200, meanwhile.text
            assert not waiting.done()
            gate.set()
            assert waiting.result().status_code == 200, waiting.result().text
    finally:
        gate.set()
        server.stop()
        keys.stop()
