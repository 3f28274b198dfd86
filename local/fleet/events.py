"""What each DT event type's data looks like when the fleet makes one up, and the exact body DT
would send for it.

One generator per event type in `GENERATORS`, keyed like the catalogue (functions/catalogue.py):
a test checks that both name the same event types, so a new schema file needs a generator here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from functions import timestamps
from local.dt_signing import new_xid
from local.fleet.model import Device

Generator = Callable[[Device, datetime], dict[str, Any]]


def _samples(
    device: Device, moment: datetime, value: Callable[[datetime], dict[str, Any]]
) -> list[dict[str, Any]]:
    """2nd-gen sensors send several samples per event, newest first."""
    count = device.rng.choice([1, 1, 2, 3])
    return [
        value(moment - timedelta(minutes=5 * i))
        | {"sampleTime": timestamps.to_rfc3339(moment - timedelta(minutes=5 * i))}
        for i in range(count)
    ]


def _daily(device: Device, moment: datetime, amplitude: float) -> float:
    hours = moment.hour + moment.minute / 60
    return round(
        device.baseline + amplitude * math.sin((hours - 9) / 24 * 2 * math.pi) + device.rng.gauss(0, 0.2), 2
    )


def _temperature(device: Device, moment: datetime) -> dict[str, Any]:
    samples = _samples(device, moment, lambda t: {"value": _daily(device, t, 1.5)})
    return {"value": samples[0]["value"], "samples": samples, "isBackfilled": False}


def _humidity(device: Device, moment: datetime) -> dict[str, Any]:
    samples = _samples(
        device,
        moment,
        lambda t: {
            "temperature": _daily(device, t, 1.0),
            "relativeHumidity": round(device.rng.uniform(30, 60), 1),
        },
    )
    first = samples[0]
    return {
        "temperature": first["temperature"],
        "relativeHumidity": first["relativeHumidity"],
        "samples": samples,
        "isBackfilled": False,
    }


def _counter(device: Device, moment: datetime) -> dict[str, Any]:
    device.counter += device.rng.randint(1, 20)
    return {"total": device.counter}


def _state(*states: str) -> Generator:
    """An event whose data is one of `states`."""
    return lambda device, moment: {"state": device.rng.choice(states)}


def _network_status(device: Device, moment: datetime) -> dict[str, Any]:
    rng = device.rng
    connectors: list[dict[str, Any]] = [
        {"id": ccon, "signalStrength": rng.randint(20, 99), "rssi": rng.randint(-100, -50)}
        for ccon in device.cloud_connectors
    ]
    best = max(connectors, key=lambda c: c["signalStrength"])
    return {
        "signalStrength": best["signalStrength"],
        "rssi": best["rssi"],
        "cloudConnectors": connectors,
        "transmissionMode": rng.choice(["LOW_POWER_STANDARD_MODE", "HIGH_POWER_BOOST_MODE"]),
    }


def _ethernet_status(device: Device, moment: datetime) -> dict[str, Any]:
    rng = device.rng
    return {
        "macAddress": f"f0:b5:b7:00:{rng.randint(0, 255):02x}:{rng.randint(0, 255):02x}",
        "ipAddress": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "errors": [],
    }


GENERATORS: dict[str, Generator] = {
    "temperature": _temperature,
    "humidity": _humidity,
    "co2": lambda device, moment: {"ppm": int(420 + max(0, _daily(device, moment, 400) - device.baseline))},
    "pressure": lambda device, moment: {"pascal": round(device.rng.gauss(101_325, 300), 1)},
    "objectPresent": _state("PRESENT", "NOT_PRESENT"),
    "waterPresent": _state("PRESENT", "NOT_PRESENT"),
    "objectPresentCount": _counter,
    "touchCount": _counter,
    "touch": lambda device, moment: {},
    "motion": _state("MOTION_DETECTED", "NO_MOTION_DETECTED"),
    "deskOccupancy": lambda device, moment: {
        "state": device.rng.choice(["OCCUPIED", "NOT_OCCUPIED"]),
        "remarks": device.rng.choice([[], ["INCOMPLETE_DATA"]]),
    },
    "contact": _state("OPEN", "CLOSED"),
    "probeWireStatus": _state("TWO_WIRE", "THREE_WIRE", "FOUR_WIRE"),
    "networkStatus": _network_status,
    "batteryStatus": lambda device, moment: {"percentage": device.rng.randint(60, 100)},
    "connectionStatus": lambda device, moment: {
        "connection": device.rng.choice(["ETHERNET", "CELLULAR"]),
        "available": ["ETHERNET", "CELLULAR"],
    },
    "ethernetStatus": _ethernet_status,
    "cellularStatus": lambda device, moment: {"signalStrength": device.rng.randint(10, 99), "errors": []},
    # Not wrapped in data.<eventType> with an updateTime: see `body`.
    "labelsChanged": lambda device, moment: {
        "added": {},
        "modified": {"name": device.labels["name"]},
        "removed": [],
    },
}


def event_data(event_type: str, device: Device, moment: datetime) -> dict[str, Any]:
    """Plausible `data.<eventType>` of one event at `moment` (without updateTime)."""
    generator = GENERATORS.get(event_type)
    if generator is None:
        raise ValueError(f"the fleet has no model for event type {event_type}")
    return generator(device, moment)


def body(device: Device, event_type: str, moment: datetime, data: dict[str, Any] | None = None) -> bytes:
    """The exact body DT would send, compact JSON in DT's key order."""
    inner = data if data is not None else event_data(event_type, device, moment)
    if event_type == "labelsChanged":
        payload = inner
    else:
        payload = {event_type: inner | {"updateTime": timestamps.to_rfc3339(moment)}}
    document = {
        "event": {
            "eventId": new_xid(),
            "targetName": f"projects/{device.project_id}/devices/{device.device_id}",
            "eventType": event_type,
            "data": payload,
            "timestamp": timestamps.to_rfc3339(moment),
        },
        "labels": device.labels,
        "metadata": {
            "deviceId": device.device_id,
            "projectId": device.project_id,
            "deviceType": device.device_type,
            "productNumber": "",
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()
