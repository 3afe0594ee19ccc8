"""The record states and the items a record holds, as pure functions (no database)."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from followup.record_states import (
    COMPLETE,
    IN_PROGRESS,
    LOCKED,
    SIGNED,
    VERIFIED,
    CloseOut,
    Tick,
    entered_state,
    item_statuses,
    record_state,
    sdv_complete,
)
from followup.record_values import RecordParts, held_values, plan_codes

T1 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("kind", "fields", "expected"), [
    ("adverse_event", {"status": "draft"}, IN_PROGRESS),
    ("adverse_event", {"status": "confirmed"}, COMPLETE),
    ("adverse_event", {"status": "dismissed"}, None),
    ("infusion", {"state": "planned"}, IN_PROGRESS),
    ("infusion", {"state": "given"}, COMPLETE),
    ("infusion", {"state": "missed"}, COMPLETE),
    ("visit", {"state": "upcoming"}, IN_PROGRESS),
    ("visit", {"state": "done"}, COMPLETE),
    ("assessment", {}, COMPLETE),
])
def test_entered_state_of_each_kind(kind, fields, expected):
    assert entered_state(kind, SimpleNamespace(**fields)) == expected


@pytest.mark.parametrize(("entered", "verified", "close_out", "expected"), [
    (IN_PROGRESS, False, None, IN_PROGRESS),
    (COMPLETE, False, None, COMPLETE),
    (COMPLETE, True, None, VERIFIED),
    (COMPLETE, True, CloseOut(signed=True), SIGNED),
    (COMPLETE, False, CloseOut(locked=True), LOCKED),
    (IN_PROGRESS, False, CloseOut(signed=True), IN_PROGRESS),
])
def test_record_state_layers_the_close_out_facts(entered, verified, close_out, expected):
    assert record_state(entered=entered, verified=verified, close_out=close_out) == expected


def test_a_tick_counts_only_at_the_records_version():
    ticks = [Tick("date", 1, "mon", T1), Tick("lab:PLT", 1, "mon", T1), Tick("lab:PLT", 2, "mon", T2)]
    statuses = item_statuses(["date", "lab:PLT", "lab:HGB"], {"date", "lab:PLT"}, ticks, version=2)
    assert (statuses["lab:PLT"].verified, statuses["date"].verified) == (True, False)
    assert statuses["date"].withdrawn == Tick("date", 1, "mon", T1)
    assert not sdv_complete(statuses)
    assert sdv_complete(item_statuses(["date"], {"date"}, [Tick("date", 2, "mon", T2)], version=2))
    assert not sdv_complete(item_statuses(["notes"], set(), [], version=1))  # nothing to verify: not verified


def test_held_items_leave_out_empty_values_but_keep_false_and_zero():
    event = SimpleNamespace(term="Headache", onset_date=date(2026, 1, 3), resolution_date=None, grade=1,
                            serious=False, relationship="possible", outcome="",
                            get_relationship_display=lambda: "Possible")
    held = held_values("adverse_event", event)
    assert held == {"term": "Headache", "onset_date": "2026-01-03", "grade": "1", "serious": "no",
                    "relationship": "Possible"}
    assert plan_codes("adverse_event", held, "key") == ["term", "onset_date", "grade", "serious", "relationship"]


def test_key_plan_of_an_assessment_is_its_date_platelets_and_haemoglobin():
    visit = SimpleNamespace(date=date(2026, 1, 3), bleeding_grade=0, steroid_drug="", steroid_dose_mg_per_day=None,
                            items={"hbv_dna": "negative"}, get_bleeding_grade_display=lambda: "0 – no bleeding")
    held = held_values("assessment", visit, RecordParts(labs={"PLT": "20 10^9/L", "WBC": "5 10^9/L",
                                                              "HGB": "120 g/L"}))
    assert list(held) == ["date", "bleeding_grade", "lab:HGB", "lab:PLT", "lab:WBC", "item:hbv_dna"]
    assert plan_codes("assessment", held, "key") == ["date", "lab:HGB", "lab:PLT"]
    assert plan_codes("assessment", held, "all") == list(held)
