"""A simulated fleet of DT sensors, sending as DT's HTTP_PUSH or Pub/Sub connector does.

`model` (devices, planned events, the send report), `events` (each event type's data and the
body DT sends), `plan` (a fleet and its events over a period), `sender` (the base of the
senders) with `http` and `pubsub` (the two connectors), `cli` (`python -m local.fleet`).
"""

from local.fleet.cli import Via, run_fleet
from local.fleet.events import GENERATORS, body, event_data
from local.fleet.http import HttpSender
from local.fleet.model import DEVICE_EVENTS, UNKNOWN_EVENT_TYPE, Device, Kind, PlannedEvent, Report
from local.fleet.plan import make_devices, plan
from local.fleet.pubsub import PubSubSender, Shape

__all__ = [
    "DEVICE_EVENTS",
    "GENERATORS",
    "UNKNOWN_EVENT_TYPE",
    "Device",
    "HttpSender",
    "Kind",
    "PlannedEvent",
    "PubSubSender",
    "Report",
    "Shape",
    "Via",
    "body",
    "event_data",
    "make_devices",
    "plan",
    "run_fleet",
]
