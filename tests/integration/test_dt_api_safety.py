"""The operators' tool against the fake DT API: https only outside loopback, calls that are not
idempotent (`:sync`, PATCH) never retried when DT may have acted on them (dt_bigquery_ops/dt_api.py); and a
replayed dead letter that ingest kept as invalid is parsed afresh (dt_bigquery_ops/dead_letters.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dt_bigquery_ops import cli
from dt_bigquery_ops.dead_letters import replay_attributes
from dt_bigquery_ops.dt_api import DtApi, DtApiError, MissingCredentials, RetryPolicy
from functions.publishing import INVALID_BODY_ATTRIBUTE
from tests.support.fake_dt_api import FakeDtApi
from tests.support.ops import DT_PROJECT, add_connector

FAST = RetryPolicy(max_retries=3, initial_backoff=0.01)


@pytest.fixture
def fake_dt() -> Iterator[FakeDtApi]:
    fake = FakeDtApi().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("DT_API_URL", "http://api.disruptive-technologies.com"),
        ("DT_OIDC_TOKEN_ENDPOINT", "http://identity.disruptive-technologies.com/oauth2/token"),
        ("DT_API_URL", "http://10.1.2.3:8080"),
    ],
)
def test_dts_api_and_token_endpoint_must_be_https_outside_loopback(fake_dt, name, url, capsys):
    with pytest.raises(MissingCredentials, match=name):
        DtApi.from_env(fake_dt.env() | {name: url})
    code = cli.main(["sync", "--project", DT_PROJECT, "--connector", "c1"], env=fake_dt.env() | {name: url})
    assert code == 2 and "must be an https URL" in capsys.readouterr().err
    assert fake_dt.requests == [], "nothing may be sent in clear text"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("call", ["sync", "status"])
def test_a_non_idempotent_call_failing_after_dt_may_have_acted_is_not_retried(fake_dt, status, call):
    connector = add_connector(fake_dt, "ACTIVE", 0, 0)
    fake_dt.fail(connector, status, times=None)
    api = DtApi.from_env(fake_dt.env(), retry=FAST)
    with pytest.raises(DtApiError, match="not retried: DT may have acted on it"):
        if call == "sync":
            api.sync_connector(DT_PROJECT, connector)
        else:
            api.set_connector_status(DT_PROJECT, connector, "USER_DISABLED")
    assert len(fake_dt.answered(connector)) == 1


@pytest.mark.parametrize("call", ["sync", "status"])
def test_a_non_idempotent_call_dt_refused_with_429_is_retried_once_allowed(fake_dt, call):
    connector = add_connector(fake_dt, "ACTIVE", 0, 0)
    fake_dt.fail(connector, 429, retry_after="0")
    api = DtApi.from_env(fake_dt.env(), retry=FAST)
    if call == "sync":
        api.sync_connector(DT_PROJECT, connector)
        assert fake_dt.project(DT_PROJECT).syncs == [connector]
    else:
        api.set_connector_status(DT_PROJECT, connector, "USER_DISABLED")
    assert [r.status for r in fake_dt.answered(connector)] == [429, 200]


def test_reads_are_still_retried_on_5xx(fake_dt):
    connector = add_connector(fake_dt, "ACTIVE", 0, 0)
    fake_dt.fail(connector, 503, times=2)
    api = DtApi.from_env(fake_dt.env(), retry=FAST)
    assert api.get_connector(DT_PROJECT, connector)["status"] == "ACTIVE"
    assert [r.status for r in fake_dt.answered(connector)] == [503, 503, 200]


def test_a_replayed_dead_letter_that_ingest_kept_as_invalid_is_parsed_afresh():

    kept = {
        "source": "webhook",
        INVALID_BODY_ATTRIBUTE: "event.timestamp is malformed",
        "deadLetterReason": "r",
    }
    assert replay_attributes(kept) == {"source": "replay"}
