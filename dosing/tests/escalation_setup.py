"""HUCMSC-ITP-ESC participants with infusions and adverse events in the past, made through the
services (screening, consent, enrolment, infusions given, adverse events recorded)."""
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from dosing.tests.factories import InfusionFactory
from enrollment.tests.factories import ParticipantFactory
from enrollment.tests.support import eligible_p2_screening, today
from followup.tests.factories import AdverseEventFactory
from trials.tests.support import confirm_adverse_event, setup_update

TZ = timezone.get_current_timezone()
WEEKLY = (0, 7, 14, 21)  # P2: weekly x 4 from day 0
MSC = {"kind": "msc", "lot": "MSC-2026-014", "viability_pct": 93.5, "passage": 4}
PASSWORD = "Long-enough-pass-91"  # conftest make_user's default


def window_over() -> date:
    """A first infusion 60 days ago: the last planned one was 39 days ago, the DLT window (28 days
    after it) ended 11 days ago."""
    return today() - timedelta(days=60)


def in_window() -> date:
    """A first infusion 30 days ago: the DLT window ends in 19 days."""
    return today() - timedelta(days=30)


def dlt_onset() -> date:
    """Day 10 of a participant first infused on :func:`window_over`: inside their DLT window."""
    return window_over() + timedelta(days=10)


def give(participant, number, day, *, by, weight_kg=60.0):
    """Infusion ``number`` started at 09:30 on ``day`` (40 minutes), the level's dose for ``weight_kg``."""
    return InfusionFactory(participant=participant, number=number, weight_kg=weight_kg, product=MSC, by=by,
                           started_at=datetime.combine(day, time(9, 30), tzinfo=TZ))


def enrol_p2(by, *, level="A", day0=None, infusions=4, sex="male"):
    """A P2 participant at ``level`` whose first infusion was planned on ``day0`` (by default
    :func:`window_over`), with the first ``infusions`` weekly infusions given on their target days."""
    day0 = window_over() if day0 is None else day0
    screening = eligible_p2_screening(by, sex=sex)
    setup_update(screening.consents, signed_at=datetime.combine(day0 - timedelta(days=3), time(9), tzinfo=TZ))
    participant = ParticipantFactory(screening=screening, dose_level_code=level, by=by,
                                     enrolled_on=day0 - timedelta(days=2), first_infusion_on=day0)
    for number, offset in zip(range(1, infusions + 1), WEEKLY, strict=False):
        give(participant, number, day0 + timedelta(days=offset), by=by)
    return participant


def adverse_event(participant, *, onset, by, grade=3, category="non_haematological", relationship="possible",
                  term="Alanine aminotransferase increased", confirmed=True, **flags):
    """An adverse event recorded by ``by`` and, unless ``confirmed=False``, confirmed as recorded
    by the site's investigator with their signature (only a confirmed event counts)."""
    if grade >= 4:  # serious: with its seriousness criterion (and a death's fatal outcome)
        flags.setdefault("seriousness", ["death"] if grade == 5 else ["life_threatening"])
        if grade == 5:
            flags.setdefault("outcome", "fatal")
    event = AdverseEventFactory(participant=participant, term=term, category=category, onset_date=onset, grade=grade,
                                serious=grade >= 4, relationship=relationship, by=by, **flags)
    if confirmed and event.status == "draft":
        confirm_adverse_event(event)
    return event

