"""Pub/Sub's limits, in bytes: attributes cut on character boundaries, Publish requests within 10 MB."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from functions import publishing
from functions.config import MAX_PUBLISHABLE_BODY_BYTES, IngestConfig
from functions.errors import ConfigError
from functions.publishing import (
    MAX_ATTRIBUTE_KEY_BYTES,
    MAX_ATTRIBUTE_VALUE_BYTES,
    MAX_ATTRIBUTES,
    cut_utf8,
    fit_attributes,
)

PUBSUB_REQUEST_BYTES = 10_000_000
PUBSUB_REQUEST_MESSAGES = 1_000
ALPHABET = ["a", "é", "€", "😀", "\ud800", "\x00"]


@pytest.mark.parametrize("seed", range(20))
def test_attributes_fit_pubsubs_limits_in_bytes_and_keep_ours(seed):
    rng = random.Random(seed)

    def text(length: int) -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(length))

    attributes = {text(rng.randint(1, 400)): text(rng.randint(0, 2000)) for _ in range(rng.randint(0, 150))}
    reason = text(rng.randint(0, 3000))
    fitted = fit_attributes(attributes, kept={"deadLetterReason": reason})
    assert len(fitted) <= MAX_ATTRIBUTES
    for key, value in fitted.items():
        assert 0 < len(key.encode()) <= MAX_ATTRIBUTE_KEY_BYTES  # encodes: no lone surrogate left
        assert len(value.encode()) <= MAX_ATTRIBUTE_VALUE_BYTES
    assert fitted["deadLetterReason"] == cut_utf8(reason, MAX_ATTRIBUTE_VALUE_BYTES)


def test_cutting_keeps_whole_characters_and_short_text_as_it_is():
    assert cut_utf8("é" * 2000, 1024) == "é" * 512
    assert cut_utf8("😀" * 300, 1023) == "😀" * 255
    assert cut_utf8("abc", 1024) == "abc"


class _RecordingClient:
    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def publish(self, request: Any, **_: Any) -> Any:
        self.requests.append(request)
        return type("Answer", (), {"message_ids": [str(i) for i in range(len(request.messages))]})()


def test_a_publish_request_never_exceeds_pubsubs_limit():
    async def run() -> list[Any]:
        client = _RecordingClient()
        batcher = publishing._LoopBatcher(client, "projects/p/topics/t", timeout=5)  # type: ignore[arg-type]
        sizes = [3_900_000, MAX_PUBLISHABLE_BODY_BYTES, 10, 3_000_000, 3_000_000, *[1_000] * 1_500]
        futures = [batcher.add(b"x" * size, {"k": "v" * 1024}) for size in sizes]
        await asyncio.gather(*futures)
        return client.requests

    requests = asyncio.run(run())
    assert sum(len(r.messages) for r in requests) == 1_505
    for request in requests:
        assert request.ByteSize() <= PUBSUB_REQUEST_BYTES
        assert len(request.messages) <= PUBSUB_REQUEST_MESSAGES


def test_max_body_bytes_cannot_exceed_what_pubsub_accepts():
    env = {"PUBSUB_TOPIC": "projects/p/topics/events", "DT_SIGNATURE_SECRET": "s"}
    assert IngestConfig.from_env(env | {"MAX_BODY_BYTES": str(MAX_PUBLISHABLE_BODY_BYTES)}).max_body_bytes
    with pytest.raises(ConfigError, match="MAX_BODY_BYTES"):
        IngestConfig.from_env(env | {"MAX_BODY_BYTES": "10000000"})
    # the largest body, with the most attributes Pub/Sub allows, still fits one request
    assert MAX_PUBLISHABLE_BODY_BYTES + MAX_ATTRIBUTES * (
        MAX_ATTRIBUTE_KEY_BYTES + MAX_ATTRIBUTE_VALUE_BYTES + 8
    ) < (PUBSUB_REQUEST_BYTES - 1_000)
