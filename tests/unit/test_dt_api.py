"""The DT API client against the loopback fake DT API (in-process, no emulator)."""

from __future__ import annotations

import time

import disruptive
import pytest

from dt_bigquery_ops.dt_api import DtApi, DtApiError, RetryPolicy
from tests.support.ops import (
    DT_PROJECT,
    add_device,
)


def test_the_fake_accepts_the_token_request_of_dts_own_client(fake_dt):
    """Anchors the fake's token endpoint to DT's official implementation of the grant."""
    auth = disruptive.Auth.service_account(fake_dt.key_id, fake_dt.secret, fake_dt.email)
    auth.token_endpoint = fake_dt.token_endpoint
    assert auth.get_token().startswith("Bearer fake-access-token-")


def test_the_client_waits_as_long_as_retry_after_says_then_succeeds(fake_dt):
    add_device(fake_dt, "touch")
    fake_dt.fail("/devices", 429, retry_after="1")
    api = DtApi.from_env(fake_dt.env(), retry=RetryPolicy(initial_backoff=0.01))
    started = time.monotonic()
    assert len(api.list_devices(DT_PROJECT)) == 1
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in fake_dt.answered("/devices")] == [429, 200]


def test_the_client_gives_up_after_its_retries_with_the_last_answer(fake_dt):
    add_device(fake_dt, "touch")
    fake_dt.fail("/devices", 503, times=None)
    api = DtApi.from_env(fake_dt.env(), retry=RetryPolicy(max_retries=3, initial_backoff=0.01))
    with pytest.raises(DtApiError, match="failed after 4 attempts; last answer 503"):
        api.list_devices(DT_PROJECT)
    assert len(fake_dt.answered("/devices", 503)) == 4
