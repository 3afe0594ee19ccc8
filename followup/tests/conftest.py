"""Fixtures of the follow-up tests: a P2 participant ten days after her first infusion, the P3
participant of the root conftest with anaemia at baseline, P3 with room for many participants; for
the data queries, an assessment of her visit W1, a monitor and a data manager of her site."""
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from dosing.tests.factories import InfusionFactory
from enrollment.models import ScreeningLab
from followup.models import Assessment
from enrollment.tests.factories import ParticipantFactory
from enrollment.tests.support import eligible_p2_screening
from trials.audit import audited_save
from trials.tests.support import setup_update

TZ = timezone.get_current_timezone()


@pytest.fixture
def woman(studies, coordinator):
    """A P2 participant whose first infusion started at 09:00, ten days ago."""
    day0 = timezone.localdate() - timedelta(days=10)
    screening = eligible_p2_screening(coordinator, sex="female")
    setup_update(screening.consents, signed_at=timezone.now() - timedelta(days=12))
    participant = ParticipantFactory(screening=screening, dose_level_code="A", enrolled_on=day0, first_infusion_on=day0,
                                     by=coordinator)
    InfusionFactory(participant=participant, number=1, started_at=datetime.combine(day0, time(9, 0), tzinfo=TZ),
                    ended_at=None, weight_kg=60, cells_infused=3e7,
                    product={"kind": "msc", "lot": "L1", "viability_pct": 95},
                    by=coordinator)
    return participant


@pytest.fixture
def anaemic(participant):
    """Screening Hb 95 g/L: grade 2 anaemia at baseline (< 100 - 80; LLN 120)."""
    ScreeningLab.objects.create(screening=participant.screening, analyte="HGB", value=95, entered_value=95,
                                entered_unit="g/L", lln=120, uln=160)
    return participant


@pytest.fixture
def p3(studies, coordinator):
    """P3 with room for the participants of these tests (its default enrolment target is 20)."""
    study = studies["MSC-ITP-5"]
    study.enrolment_target = 60
    audited_save(study, by=coordinator, reason="Test: room for 60 participants")
    return study


# --- data queries ----------------------------------------------------------------------------------

@pytest.fixture
def assessment(api, woman):
    """The `woman` fixture's visit W1, three days ago, with a platelet count of 42 and bleeding grade 1."""
    body = {"date": (timezone.localdate() - timedelta(days=3)).isoformat(), "visit": "W1", "bleeding_grade": 1,
            "labs": [{"analyte": "PLT", "value": 42, "unit": "10^9/L"}]}
    response = api.post(f"/api/v1/participants/{woman.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()
    return Assessment.objects.get(pk=response.json()["id"])


@pytest.fixture
def monitor(make_user):
    return make_user("monitor")


@pytest.fixture
def data_manager(make_user):
    return make_user("data_manager")
