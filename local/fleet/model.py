"""The fleet's vocabulary: what each DT device type sends, a device, a planned event, and the
tally of a send (one `Report`, kept the same way by every sender)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field, fields
from enum import StrEnum

# What each DT device type sends (first: its main event type).
DEVICE_EVENTS: dict[str, list[str]] = {
    "temperature": ["temperature", "probeWireStatus"],
    "humidity": ["humidity"],
    "co2": ["co2", "pressure", "humidity"],
    "proximity": ["objectPresent"],
    "touch": ["touch"],
    "proximityCounter": ["objectPresentCount"],
    "touchCounter": ["touchCount"],
    "waterDetector": ["waterPresent"],
    "motion": ["motion"],
    "deskOccupancy": ["deskOccupancy"],
    "contact": ["contact"],
    "ccon": ["connectionStatus", "ethernetStatus", "cellularStatus"],
}
SENSOR_HOUSEKEEPING = ["networkStatus", "batteryStatus", "touch"]  # every sensor, not Cloud Connectors
PLACES = [
    "Kitchen",
    "Server room",
    "Meeting room 3",
    "Warehouse B",
    "Lobby",
    "Freezer 2",
    "Office 4.12",
    "Lab",
]
UNKNOWN_EVENT_TYPE = "airQuality"


class Kind(StrEnum):
    """What a planned event is: an ordinary one, or one of the special cases DT produces."""

    EVENT = "event"
    DUPLICATE = "duplicate"  # an event sent again (DT delivers at least once)
    UNKNOWN = "unknown"  # an event type this version does not know
    BACKFILLED = "backfilled"  # an event older than the simulated period


@dataclass
class Device:
    device_id: str
    device_type: str
    project_id: str
    labels: dict[str, str]
    rng: random.Random
    baseline: float = 0.0
    counter: int = 0
    cloud_connectors: list[str] = field(default_factory=list)

    @property
    def event_types(self) -> list[str]:
        own = DEVICE_EVENTS[self.device_type]
        return own if self.device_type == "ccon" else own + SENSOR_HOUSEKEEPING


@dataclass
class PlannedEvent:
    event_type: str
    body: bytes
    kind: Kind = Kind.EVENT

    @classmethod
    def from_body(cls, body: bytes) -> PlannedEvent:
        """An ordinary event of whatever type `body` (as DT sends it) says."""
        return cls(json.loads(body)["event"]["eventType"], body)

    @property
    def event_id(self) -> str:
        return json.loads(self.body)["event"]["eventId"]


@dataclass
class Report:
    """What was sent and what the endpoint answered, per event type."""

    sent: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    duplicates: int = 0
    duplicate_id: str | None = None
    duplicate_type: str | None = None
    unknown: int = 0
    backfilled: int = 0
    seconds: float = 0.0
    accepted_ids: set[str] = field(default_factory=set)

    def record(self, event: PlannedEvent, ok: bool, retries: int = 0) -> None:
        """Count one event's outcome (`ok`: the far end confirmed it); a duplicate counts apart."""
        self.retries += retries
        if event.kind == Kind.DUPLICATE:
            self.duplicates += 1
            self.duplicate_id, self.duplicate_type = event.event_id, event.event_type
        else:
            self.sent[event.event_type] += 1
            (self.accepted if ok else self.refused)[event.event_type] += 1
            if ok:
                self.accepted_ids.add(event.event_id)
        self.unknown += event.kind == Kind.UNKNOWN
        self.backfilled += event.kind == Kind.BACKFILLED

    def __add__(self, other: Report) -> Report:
        """Both sends together (the duplicate named is this one's, when it has one)."""
        total = Report()
        for name in (f.name for f in fields(Report)):
            mine, theirs = getattr(self, name), getattr(other, name)
            if name in ("duplicate_id", "duplicate_type"):
                setattr(total, name, mine if mine is not None else theirs)
            else:
                setattr(total, name, mine | theirs if isinstance(mine, set) else mine + theirs)
        return total
