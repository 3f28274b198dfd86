"""A fleet of devices of every DT device type, and what they send over a simulated period,
with the special cases DT produces (a redelivered duplicate, an unknown type, a backfilled event)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from local.dt_signing import new_xid
from local.fleet.events import body, event_data
from local.fleet.model import DEVICE_EVENTS, PLACES, UNKNOWN_EVENT_TYPE, Device, Kind, PlannedEvent


def make_devices(per_type: int, project_id: str, seed: int) -> list[Device]:
    rng = random.Random(seed)
    ccons = [new_xid() for _ in range(max(1, per_type))]
    devices = []
    for device_type in DEVICE_EVENTS:
        for index in range(per_type):
            baseline = {"temperature": rng.choice([-18.0, 4.0, 21.0]), "humidity": 21.0, "co2": 600.0}.get(
                device_type, 0.0
            )
            place = rng.choice(PLACES)
            if device_type == "temperature":
                place = {-18.0: "Freezer", 4.0: "Fridge"}.get(baseline, "Office")
            device_id = ccons[index] if device_type == "ccon" else new_xid()
            labels = {
                "name": f"{place} {device_type} {index + 1}",
                "description": f"Simulated {device_type} sensor in {place.lower()}",
                "site": "Oslo HQ",
            }
            devices.append(
                Device(
                    device_id,
                    device_type,
                    project_id,
                    labels,
                    random.Random(rng.random()),
                    baseline,
                    rng.randint(0, 5000),
                    rng.sample(ccons, min(2, len(ccons))),
                )
            )
    return devices


def plan(
    devices: list[Device], events_per_device: int, period: timedelta, now: datetime
) -> list[PlannedEvent]:
    """Every device's events over `period`, oldest first, plus the special cases DT produces."""
    planned: list[tuple[datetime, PlannedEvent]] = []
    start = now - period
    for index, device in enumerate(devices):
        types = device.event_types
        sequence = types + [types[0]] * max(
            0, events_per_device - len(types)
        )  # each type once, then the main one
        if index % len(DEVICE_EVENTS) == 0:
            sequence.append("labelsChanged")
        step = period / max(1, len(sequence))
        for number, event_type in enumerate(sequence):
            moment = (
                start + step * number + timedelta(seconds=device.rng.uniform(0, step.total_seconds() * 0.5))
            )
            planned.append((moment, PlannedEvent(event_type, body(device, event_type, moment))))
    planned.sort(key=lambda item: item[0])
    events = [event for _, event in planned]
    if devices and events:
        rng = random.Random(len(events))
        events.append(
            PlannedEvent(events[len(events) // 2].event_type, events[len(events) // 2].body, Kind.DUPLICATE)
        )
        sensor = next(d for d in devices if d.device_type == "temperature")
        events.append(
            PlannedEvent(
                UNKNOWN_EVENT_TYPE,
                body(sensor, UNKNOWN_EVENT_TYPE, now, {"voc": round(rng.uniform(50, 400), 1)}),
                Kind.UNKNOWN,
            )
        )
        old = now - period - timedelta(hours=2)
        data = event_data("temperature", sensor, old) | {"isBackfilled": True}
        events.append(PlannedEvent("temperature", body(sensor, "temperature", old, data), Kind.BACKFILLED))
    return events
