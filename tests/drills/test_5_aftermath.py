"""Drills 4 and 5, after all the others: no secret in any log, no memory leak in `ingest`."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.conftest import SECRET
from tests.drills.helpers import TOKENS, route_failures, summary

_BASE64URL_RUN = re.compile(r"[A-Za-z0-9_-]{16,}")


@pytest.mark.drill
def test_no_secret_and_no_token_in_any_server_log(drill, capsys):
    logs = drill.pipeline.work_dir / "logs"
    texts = {name: (logs / name).read_text(errors="replace") for name in ("ingest.log", "route.log")}
    # Each token's parts (header.payload.signature); the headers are shared by many tokens and
    # say nothing secret, the payloads and signatures are unique to one request.
    parts = {part for token in TOKENS for part in token.split(".")[1:] if len(part) >= 16}
    found = {name: sorted(set(_BASE64URL_RUN.findall(text)) & parts)[:3] for name, text in texts.items()}
    secret_in = [name for name, text in texts.items() if SECRET in text]
    summary(
        capsys,
        "secrets in logs",
        tokens_sent=len(TOKENS),
        log_bytes=sum(len(text) for text in texts.values()),
        secret_found_in=secret_in,
        token_parts_found=sum(len(parts) for parts in found.values()),
    )
    assert len(TOKENS) > 1_000
    assert not secret_in
    assert not any(found.values()), found


@pytest.mark.drill
def test_route_log_figures(drill, capsys):
    """Not an invariant: what the router went through, for the CI log."""
    failures = route_failures(drill.pipeline)
    errors = Counter(str(f.get("error", ""))[:90] for f in failures).most_common(3)
    summary(capsys, "route log", failed_deliveries=len(failures),
            distinct_events_failed=len({f.get("eventId") for f in failures}), top_errors=errors)  # fmt: skip


@pytest.mark.drill
def test_ingest_memory_after_the_drills_is_within_20_percent_of_after_warm_up(drill, capsys):
    after = drill.pipeline.ingest.rss_bytes()
    before = drill.rss_after_warm_up
    summary(capsys, "ingest RSS", after_warm_up_MiB=round(before / 2**20, 1), after_drills_MiB=round(after / 2**20, 1),
            growth_percent=round(100 * (after - before) / before, 1))  # fmt: skip
    assert after <= before * 1.2
