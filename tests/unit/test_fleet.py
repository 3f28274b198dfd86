"""The simulated fleet, in-process: one generator per catalogue event type, plans, the report."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from functions import catalogue, envelope
from local.fleet import GENERATORS, Kind, PlannedEvent, Report, make_devices, plan
from local.fleet.cli import build_parser, main
from local.fleet.events import event_data

NOW = datetime(2026, 3, 11, 8, 15, tzinfo=UTC)


def test_the_fleet_has_a_generator_for_exactly_the_event_types_of_the_catalogue():
    assert set(GENERATORS) == set(catalogue.event_tables())


def test_an_event_type_without_a_generator_is_refused_by_name():
    [device] = make_devices(1, "p", seed=1)[:1]
    with pytest.raises(ValueError, match="no model for event type airQuality"):
        event_data("airQuality", device, NOW)


def test_a_plan_has_every_event_type_once_at_least_as_a_valid_body_and_the_special_cases():
    events = plan(make_devices(1, "unitproject", seed=5), 3, timedelta(hours=24), NOW)
    ordinary = [event for event in events if event.kind == Kind.EVENT]
    assert {event.event_type for event in ordinary} == set(catalogue.event_tables())
    for event in ordinary:
        assert envelope.parse(event.body).event_type == event.event_type
    assert [event.kind for event in events[-3:]] == [Kind.DUPLICATE, Kind.UNKNOWN, Kind.BACKFILLED]
    assert events[-3].event_id in {event.event_id for event in ordinary}


def test_the_report_counts_each_outcome_and_two_reports_add_up():
    [first, second] = [PlannedEvent.from_body(event.body) for event in plan(
        make_devices(1, "unitproject", seed=5), 1, timedelta(hours=1), NOW)[:2]]  # fmt: skip
    duplicate = PlannedEvent(first.event_type, first.body, Kind.DUPLICATE)
    one, two = Report(), Report()
    one.record(first, ok=True, retries=2)
    one.record(duplicate, ok=True)
    two.record(second, ok=False)
    both = one + two
    assert both.sent == Counter([first.event_type, second.event_type])
    assert sum(both.accepted.values()) == 1 and sum(both.refused.values()) == 1
    assert both.accepted_ids == {first.event_id}
    assert (both.retries, both.duplicates, both.duplicate_id) == (2, 1, first.event_id)


def test_send_without_a_secret_is_a_usage_error_naming_the_variable(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["send", "--url", "http://127.0.0.1:9/"], env={})
    assert exit_status.value.code == 2
    assert "--secret or DT_SIGNATURE_SECRET is required" in capsys.readouterr().err


def test_the_secret_comes_from_the_environment_when_no_flag_gives_it():
    args = build_parser({"DT_SIGNATURE_SECRET": "from-env"}).parse_args(["send"])
    assert args.secret == "from-env"
    assert (
        build_parser({"DT_SIGNATURE_SECRET": "from-env"}).parse_args(["send", "--secret", "f"]).secret == "f"
    )
