"""A small study for the dashboard tests (P3, MSC-ITP-5, arm MSC, disease ITP), at PUMCH unless
said: A responds (CR confirmed from day 30), B does not (confirmed NR), C has one NR count (not
evaluable), D is enrolled without an infusion, G withdrew for an adverse event before any infusion,
E failed screening, F is pending; X, a responder, is at a second site (XH). Adverse events: A a
serious grade 3 lung infection; B fever grade 1 then grade 2; X a grade 4 fever."""
from dataclasses import dataclass

from enrollment import services as enrolment
from enrollment.models import Participant, Screening
from enrollment.tests.support import create_screening, p3_facts, today
from followup.models import AdverseEvent
from followup.tests.factories import AdverseEventFactory
from followup.tests.support import NON_RESPONDER, enrol, event, treated_participant
from trials.models import Site
from trials.tests.support import change_context, confirm_adverse_event, setup_update


@dataclass
class World:
    a: Participant
    b: Participant
    c: Participant
    d: Participant
    g: Participant
    x: Participant
    failed: Screening
    pending: Screening


def graded(participant, by, term, grade, *, serious=False):
    recorded = AdverseEventFactory(participant=participant, by=by, term=term, grade=grade, serious=serious,
                                   seriousness=["hospitalisation"] if serious else [],
                                   category="fever" if term == "Fever" else "non_haematological")
    confirm_adverse_event(recorded)
    return AdverseEvent.objects.get(pk=recorded.pk)


def build_world(study, coordinator) -> World:
    a = treated_participant(coordinator, [(30, 110), (37, 125)])
    b = treated_participant(coordinator, NON_RESPONDER)
    c = treated_participant(coordinator, [(30, 20)])
    d = enrol(coordinator)
    g = enrol(coordinator)
    enrolment.participant_withdraw(participant=g, withdrawn_on=today(), reason="adverse_event", by=coordinator)
    failed = create_screening(coordinator, understands_and_complies=False)
    pending = create_screening(coordinator, labs=[lab for lab in p3_facts()["labs"] if lab["analyte"] != "CREAT"])
    x = treated_participant(coordinator, [(30, 110), (37, 125)])
    xh, _ = Site.objects.get_or_create(code="XH", defaults={"name": "Xiehe Other Hospital"})
    with change_context(by=None, reason="A second site joins"):
        study.sites.add(xh)
    setup_update(Screening.objects.filter(pk=x.screening_id), site=xh)
    setup_update(Participant.objects.filter(pk=x.pk), site=xh)
    event(a, coordinator, term="Lung infection")
    graded(b, coordinator, "Fever", 1)
    graded(b, coordinator, "Fever", 2)
    graded(x, coordinator, "Fever", 4)
    return World(a, b, c, d, g, Participant.objects.get(pk=x.pk), failed, pending)

