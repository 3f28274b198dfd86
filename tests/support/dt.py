"""DT's side of the tests: the connector's secrets and organization, and event bodies as DT sends them."""

from __future__ import annotations

import json

from tests.support.paths import DT_DATA, EVENT_EXAMPLES

PROJECT = "local"  # the Google project of the emulators
SECRET = "current-signature-secret-0123456789"
PREVIOUS_SECRET = "previous-signature-secret-9876543210"
ORGANIZATION_ID = "test-organization-id"


def example_body(table: str) -> bytes:
    """The realistic example body DT would send for the event type of `table`."""
    return (EVENT_EXAMPLES / f"{table}.json").read_bytes().strip()


def real_body(name: str) -> bytes:
    """A body captured from a real DT connector (exact bytes)."""
    return (DT_DATA / "real-bodies" / name).read_bytes()


def with_event(body: bytes, **event_fields: object) -> bytes:
    """`body` with some `event` fields replaced, re-serialized compactly as DT does."""
    document = json.loads(body)
    document["event"].update(event_fields)
    return json.dumps(document, separators=(",", ":")).encode()


def event_id(body: bytes) -> str:
    """The eventId of a DT body."""
    return json.loads(body)["event"]["eventId"]
